import { JobStatus } from '@app/contracts';
import { decideGroupOutcome, decideSessionOutcome, retryDelayMs } from './outcomes';

const job = (status: JobStatus, required: boolean, type = 'X', error: string | null = null) => ({ type, status, required, error });

describe('decideSessionOutcome', () => {
  it.each([
    ['all final, required completed', [job(JobStatus.COMPLETED, true), job(JobStatus.COMPLETED, false)], 'complete'],
    ['an optional job failed', [job(JobStatus.COMPLETED, true), job(JobStatus.FAILED, false)], 'complete'],
    ['an optional job cancelled', [job(JobStatus.COMPLETED, true), job(JobStatus.CANCELLED, false)], 'complete'],
    ['a job still running', [job(JobStatus.COMPLETED, true), job(JobStatus.RUNNING, false)], 'wait'],
    ['a job pending retry', [job(JobStatus.PENDING, true)], 'wait'],
    ['a required job failed while others run', [job(JobStatus.FAILED, true), job(JobStatus.RUNNING, false)], 'fail'],
    ['a required job cancelled', [job(JobStatus.CANCELLED, true)], 'fail'],
  ])('%s → %s', (_, jobs, kind) => {
    expect(decideSessionOutcome(jobs).kind).toBe(kind);
  });

  it('names the failed job and its error', () => {
    expect(decideSessionOutcome([job(JobStatus.FAILED, true, 'VALIDATION', 'type mismatch')])).toEqual({
      kind: 'fail',
      failedJobType: 'VALIDATION',
      error: 'type mismatch',
    });
  });
});

describe('decideGroupOutcome', () => {
  it.each([
    [{ totalFiles: 3, completedFiles: 2, failedFiles: 0 }, 'wait'],
    [{ totalFiles: 3, completedFiles: 3, failedFiles: 0 }, 'complete'],
    [{ totalFiles: 3, completedFiles: 2, failedFiles: 1 }, 'fail'],
    [{ totalFiles: 3, completedFiles: 1, failedFiles: 1 }, 'wait'],
  ])('%j → %s', (counts, expected) => expect(decideGroupOutcome(counts)).toBe(expected));
});

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30)).toBe(256_000);
  });
});
