import { JobType } from '@app/contracts';
import { ProcessingJob } from '../processing-job.entity';
import { UploadSession } from '../../upload/upload-session.entity';

export interface JobContext {
  job: ProcessingJob;
  session: UploadSession;
  /** Aborted when the job is cancelled or its lease is lost: stop and throw. */
  signal: AbortSignal;
}

/** Does the work of one job type on a stored object. Returns the job's result. */
export interface JobHandler {
  readonly type: JobType;
  run(ctx: JobContext): Promise<Record<string, unknown>>;
}

/**
 * A failure the handler understands. Permanent failures (the file is what it is) are not retried;
 * anything else thrown by a handler is treated as transient and retried with backoff.
 */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly result: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'JobFailure';
  }

  static permanent(message: string, result: Record<string, unknown> | null = null): JobFailure {
    return new JobFailure(message, true, result);
  }
}

export const JOB_HANDLERS = Symbol('JobHandlers');
