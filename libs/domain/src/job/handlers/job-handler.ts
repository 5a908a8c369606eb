import { JobType } from '@app/contracts';
import { ProcessingJob } from '../processing-job.entity';
import { UploadSession } from '../../upload/upload-session.entity';

export interface JobContext {
  job: ProcessingJob;
  session: UploadSession;
  /** Aborted when the job is cancelled or its lease is lost: stop and throw. */
  signal: AbortSignal;
}

/** Facts a completed job records on its session (written in the transaction that completes the job). */
export type SessionFacts = Partial<Pick<UploadSession, 'sha256' | 'md5'>>;

/** Does the work of one job type on a stored object. Returns the job's result. */
export interface JobHandler {
  readonly type: JobType;
  run(ctx: JobContext): Promise<Record<string, unknown>>;
  /** What a successful result adds to the session, if anything. */
  sessionFacts?(result: Record<string, unknown>): SessionFacts;
}

/** Settings of the handlers (from the processor's config). */
export interface JobHandlerSettings {
  /** Default box (px) a thumbnail fits in, when the job's config names none. */
  thumbnailSize: number;
  /** Largest image (width × height) the image handlers decode: bounds their memory. */
  maxImagePixels: number;
}
export const JOB_HANDLER_SETTINGS = Symbol('JobHandlerSettings');

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
