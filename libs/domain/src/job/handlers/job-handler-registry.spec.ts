import { JobType } from '@app/contracts';
import { JobHandler } from './job-handler';
import { JobHandlerRegistry } from './job-handler-registry';

const handler = (type: JobType): JobHandler => ({ type, run: async () => ({}) });

describe('JobHandlerRegistry', () => {
  it('finds the handler of each consumed type', () => {
    const registry = new JobHandlerRegistry([handler(JobType.VALIDATION), handler(JobType.THUMBNAIL)], [JobType.THUMBNAIL]);
    expect(registry.get(JobType.THUMBNAIL)?.type).toBe(JobType.THUMBNAIL);
  });

  it.each([
    ['a consumed type without a handler', [JobType.VALIDATION], [JobType.VALIDATION, JobType.CHECKSUM], 'no handler for CHECKSUM'],
    ['two handlers for one type', [JobType.METADATA, JobType.METADATA], [JobType.METADATA], 'two handlers for METADATA'],
  ])('fails fast on %s', (_, types, consumed, message) => {
    expect(() => new JobHandlerRegistry(types.map(handler), consumed)).toThrow(message);
  });
});
