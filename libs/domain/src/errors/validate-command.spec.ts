import { IsObject, IsOptional, IsString } from 'class-validator';
import { decodeCursor } from '../pagination/cursor';
import { DomainError } from './domain-error';
import { MAX_INPUT_DEPTH, validateCommand } from './validate-command';

class Sample {
  @IsString() name!: string;
  @IsOptional() @IsObject() config?: Record<string, unknown>;
}

const nested = (depth: number): unknown => {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const problem = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof DomainError) return e.details;
    throw e;
  }
  throw new Error('expected a DomainError');
};

describe('validateCommand', () => {
  it('refuses strings and keys that are not well-formed Unicode (lone surrogates Postgres cannot store), naming where', () => {
    expect(problem(() => validateCommand(Sample, { name: 'a\udfffb' }))).toEqual([{ field: 'name', message: expect.stringContaining('well-formed Unicode') }]);
    expect(problem(() => validateCommand(Sample, { name: 'x', config: { ['k\ud800']: 'v' } }))).toEqual([
      { field: 'config', message: expect.stringContaining('well-formed Unicode') },
    ]);
    expect(problem(() => validateCommand(Sample, { name: 'x', config: { list: ['ok', '\udc00'] } }))).toEqual([
      { field: 'config.list[1]', message: expect.stringContaining('well-formed Unicode') },
    ]);
    // A proper pair is fine.
    expect(validateCommand(Sample, { name: '\ud83d\ude00' }).name).toBe('😀');
  });

  it('accepts nesting up to the limit', () => {
    expect(validateCommand(Sample, { name: 'x', config: nested(MAX_INPUT_DEPTH - 1) }).name).toBe('x');
  });

  it.each([MAX_INPUT_DEPTH + 1, 5000, 100_000])('refuses input %i levels deep as a 400 naming the field (no stack overflow)', (depth) => {
    expect(problem(() => validateCommand(Sample, { name: 'x', config: nested(depth) }))).toEqual([
      { field: 'config', message: `nests deeper than ${MAX_INPUT_DEPTH} levels` },
    ]);
  });
});

describe('decodeCursor', () => {
  const cursor = (t: string) => Buffer.from(JSON.stringify([t, '00000000-0000-4000-8000-000000000000'])).toString('base64url');
  it('reads its own cursors', () => {
    expect(decodeCursor(cursor('2026-01-01T00:00:00.000Z')).createdAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
  it.each(['-200000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00.000Z', 'x'])('refuses an instant no row can have: %s', (t) => {
    expect(problem(() => decodeCursor(cursor(t)))).toEqual([{ field: 'cursor', message: 'must be a cursor returned by a previous page' }]);
  });
});
