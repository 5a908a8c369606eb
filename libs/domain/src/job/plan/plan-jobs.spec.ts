import { JobType } from '@app/contracts';
import { contentTypeMatches, planJobs } from './plan-jobs';

const defaults = [
  { pattern: '*/*', jobs: [JobType.VALIDATION] },
  { pattern: 'image/*', jobs: [JobType.VALIDATION, JobType.METADATA, JobType.THUMBNAIL] },
  { pattern: 'image/gif', jobs: [JobType.CHECKSUM] },
];

describe('contentTypeMatches', () => {
  it.each([
    ['*/*', 'text/plain', true],
    ['image/*', 'image/png', true],
    ['image/*', 'IMAGE/PNG', true],
    ['image/*', 'text/plain', false],
    ['image/png', 'image/png; charset=binary', true],
    ['image/png', 'image/jpeg', false],
  ])('%s ~ %s: %s', (pattern, type, expected) => expect(contentTypeMatches(pattern, type)).toBe(expected));
});

describe('planJobs', () => {
  const types = (specs: { type: JobType }[]) => specs.map((s) => s.type);

  it('uses the most specific default rule when the client names no jobs', () => {
    expect(types(planJobs('text/plain', undefined, defaults))).toEqual([JobType.VALIDATION]);
    expect(types(planJobs('image/png', undefined, defaults))).toEqual([JobType.VALIDATION, JobType.METADATA, JobType.THUMBNAIL]);
    expect(types(planJobs('image/gif', [], defaults))).toEqual([JobType.VALIDATION, JobType.CHECKSUM]);
  });

  it("uses the client's list, always with VALIDATION first and required", () => {
    const plan = planJobs(
      'image/png',
      [
        { type: JobType.CHECKSUM, priority: 1 },
        { type: JobType.VALIDATION, priority: 2, required: false },
      ],
      defaults,
    );
    expect(plan).toEqual([
      { type: JobType.VALIDATION, priority: 2, maxAttempts: 3, required: true, config: {} },
      { type: JobType.CHECKSUM, priority: 1, maxAttempts: 3, required: false, config: {} },
    ]);
  });

  it('keeps client-required jobs required and their settings', () => {
    const [, thumb] = planJobs('image/png', [{ type: JobType.THUMBNAIL, required: true, maxAttempts: 5, config: { size: 128 } }], defaults);
    expect(thumb).toEqual({ type: JobType.THUMBNAIL, priority: 5, maxAttempts: 5, required: true, config: { size: 128 } });
  });

  it('adds VALIDATION even when no default rule matches', () => {
    expect(types(planJobs('text/plain', undefined, []))).toEqual([JobType.VALIDATION]);
  });
});
