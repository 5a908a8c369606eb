import { JobStatus } from '@app/contracts';
import { FINAL_JOB_STATUSES } from '../../lifecycle/transitions';

export type SessionOutcome = { kind: 'wait' } | { kind: 'complete' } | { kind: 'fail'; failedJobType: string; error: string };

/**
 * What follows the jobs of a session: COMPLETED when every job is final and every required one COMPLETED;
 * FAILED as soon as a required job FAILED or was CANCELLED; otherwise keep waiting.
 */
export function decideSessionOutcome(jobs: { type: string; status: JobStatus; required: boolean; error: string | null }[]): SessionOutcome {
  const failedRequired = jobs.find((j) => j.required && (j.status === JobStatus.FAILED || j.status === JobStatus.CANCELLED));
  if (failedRequired) {
    return { kind: 'fail', failedJobType: failedRequired.type, error: failedRequired.error ?? `${failedRequired.type} ${failedRequired.status.toLowerCase()}` };
  }
  if (jobs.every((j) => FINAL_JOB_STATUSES.includes(j.status))) return { kind: 'complete' };
  return { kind: 'wait' };
}

export type GroupOutcome = 'wait' | 'complete' | 'fail';

/** A group completes when every file COMPLETED, fails when every file is final and at least one FAILED. */
export function decideGroupOutcome(g: { totalFiles: number; completedFiles: number; failedFiles: number }): GroupOutcome {
  if (g.completedFiles + g.failedFiles < g.totalFiles) return 'wait';
  return g.failedFiles > 0 ? 'fail' : 'complete';
}

/** Exponential backoff before attempt n+1 (n = attempts made so far, from 1). */
export function retryDelayMs(attemptsMade: number, baseMs = 1_000, capMs = 256_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
}
