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
