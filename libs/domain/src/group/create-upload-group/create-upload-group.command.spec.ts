import 'reflect-metadata';
import { DomainError } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { ListGroupUploadsQuery } from '../list-group-uploads/list-group-uploads.query';
import { CreateUploadGroupCommand } from './create-upload-group.command';

const file = (over: Record<string, unknown> = {}) => ({ filename: 'a.txt', contentType: 'text/plain', size: 3, ...over });

function fieldsOf(input: unknown): string[] {
  try {
    validateCommand(CreateUploadGroupCommand, input);
  } catch (e) {
    if (e instanceof DomainError) return (e.details ?? []).map((d) => d.field);
    throw e;
  }
  return [];
}

describe('CreateUploadGroupCommand', () => {
  it.each([
    ['a valid group with files', { name: 'g', files: [file(), file()] }, []],
    ['a valid group without files', { name: 'g', totalFiles: 3 }, []],
    ['a bad size in the third file', { name: 'g', files: [file(), file(), file({ size: -1 })] }, ['files[2].size']],
    [
      'several bad files',
      { name: 'g', files: [file({ filename: 'a/b' }), file(), file({ contentType: 'x', extra: 1 })] },
      ['files[0].filename', 'files[2].contentType', 'files[2].extra'],
    ],
    ['totalFiles 0', { name: 'g', totalFiles: 0, files: [] }, ['totalFiles']],
    ['totalFiles as text', { name: 'g', totalFiles: '3' }, ['totalFiles']],
    ['files not a list', { name: 'g', files: 'a.txt' }, ['files']],
    ['no name', { files: [file()] }, ['name']],
    ['an unknown field', { name: 'g', totalFiles: 1, owner: 'x' }, ['owner']],
    ['its own expiry', { name: 'g', totalFiles: 1, expiresInSeconds: 3600 }, []],
    ['an expiry under a minute', { name: 'g', totalFiles: 1, expiresInSeconds: 59 }, ['expiresInSeconds']],
    ['an expiry as text', { name: 'g', totalFiles: 1, expiresInSeconds: '3600' }, ['expiresInSeconds']],
  ])('%s', (_, input, fields) => {
    expect([...new Set(fieldsOf(input))].sort()).toEqual([...fields].sort());
  });
});

describe('page queries', () => {
  it('inherit cursor and limit (numbers arrive as text in a query string)', () => {
    expect(validateCommand(ListGroupUploadsQuery, { limit: '5', status: 'FAILED' })).toMatchObject({ limit: 5, status: 'FAILED' });
    expect(() => validateCommand(ListGroupUploadsQuery, { limit: '0' })).toThrow(DomainError);
    expect(() => validateCommand(ListGroupUploadsQuery, { cursor: 'a b' })).toThrow(DomainError);
  });
});
