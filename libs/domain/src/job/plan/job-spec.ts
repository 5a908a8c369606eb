import { JobType } from '@app/contracts';

/** A job to create once the file is uploaded (kept on the session until then). */
export interface JobSpec {
  type: JobType;
  priority: number;
  maxAttempts: number;
  required: boolean;
  config: Record<string, unknown>;
}

export const DEFAULT_JOB_PRIORITY = 5;
export const DEFAULT_MAX_ATTEMPTS = 3;

// Abuse bounds (issue 16, MEDIUM 6): any caller may ask for jobs; none may take the processors from the others.
/** Priorities more urgent than this (1 and 2) are for admins: a caller cannot put its jobs before everyone's. */
export const CALLER_MIN_JOB_PRIORITY = 3;
/** Attempts per run a caller who is not admin may ask for (admins: up to 20). */
export const CALLER_MAX_ATTEMPTS = 5;
/** Jobs one session may have in all: its plan and those added later (POST /v1/uploads/:id/jobs). */
export const MAX_JOBS_PER_SESSION = 20;
/** Manual retries of one job (POST /v1/jobs/:id/retry, each a fresh attempt budget) by a caller who is not admin. */
export const MAX_MANUAL_RETRIES = 3;

/** What a caller who is not admin may not ask of a job, each problem named by its field (`prefix` + name). */
export function jobRequestProblems(isAdmin: boolean, job: { priority?: number; maxAttempts?: number }, prefix = ''): { field: string; message: string }[] {
  if (isAdmin) return [];
  const problems: { field: string; message: string }[] = [];
  if (job.priority !== undefined && job.priority < CALLER_MIN_JOB_PRIORITY) {
    problems.push({
      field: `${prefix}priority`,
      message: `must be at least ${CALLER_MIN_JOB_PRIORITY}: priorities 1-${CALLER_MIN_JOB_PRIORITY - 1} are for admins`,
    });
  }
  if (job.maxAttempts !== undefined && job.maxAttempts > CALLER_MAX_ATTEMPTS) {
    problems.push({ field: `${prefix}maxAttempts`, message: `must not exceed ${CALLER_MAX_ATTEMPTS}` });
  }
  return problems;
}
