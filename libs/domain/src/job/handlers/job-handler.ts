import { JobType } from '@app/contracts';
import { JobRecord, SessionRecord } from '../../lifecycle/records';

/** The job as a handler sees it (a ProcessingJob entity is one too). */
export type JobView = Pick<JobRecord, 'id' | 'type' | 'config' | 'attempts'>;
/** The session as a handler sees it (an UploadSession entity is one too). */
export type SessionView = Pick<SessionRecord, 'id' | 'objectKey' | 'size' | 'contentType' | 'checksumSha256' | 'etag'>;

export interface JobContext {
  job: JobView;
  session: SessionView;
  /** Aborted when the job is cancelled, times out, its lease is lost or its process stops: stop and throw. */
  signal: AbortSignal;
  /**
   * Throws when the job may no longer act (aborted, or its lease ran out even if no timer could say so yet, as
   * after the process was suspended). Call it right before a write outside the database (e.g. a store PUT).
   */
  checkpoint?(): void;
}

/** Facts a completed job records on its session (written in the transaction that completes the job). */
export interface SessionFacts {
  sha256?: string;
  md5?: string;
}

/** Does the work of one job type on a stored object. Returns the job's result. */
export interface JobHandler {
  readonly type: JobType;
  run(ctx: JobContext): Promise<Record<string, unknown>>;
  /** What a successful result adds to the session, if anything. */
  sessionFacts?(result: Record<string, unknown>): SessionFacts;
}

/** What a job needs from its object's bytes. */
export interface ObjectNeeds {
  /** The first bytes it looks at (0 for none). */
  headBytes: number;
  sha256: boolean;
  md5: boolean;
}

/** What one read of an object yields: enough for every job that shares it. */
export interface ObjectDigest {
  /** The stored size. */
  size: number;
  /** The first bytes (as many as the most demanding job asked for, fewer if the object is shorter). */
  head: Buffer;
  sha256?: Buffer;
  md5?: Buffer;
}

/**
 * A handler that only looks at the object's bytes (type sniffing, hashes, headers): the jobs of one session due
 * together share one read of the object, each still recording its own result. `run` reads for itself.
 */
export interface ContentJobHandler extends JobHandler {
  needs(ctx: JobContext): ObjectNeeds;
  /** `digest` is null when the store has no such object: each handler decides what that means for its job. */
  analyze(ctx: JobContext, digest: ObjectDigest | null): Promise<Record<string, unknown>>;
}

export function isContentJobHandler(h: JobHandler): h is ContentJobHandler {
  return typeof (h as Partial<ContentJobHandler>).analyze === 'function';
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

/**
 * Error prefix of a job whose object was replaced after the notification that announced it (the read pinned
 * to the recorded ETag was refused). WARNING: persisted in job errors; what a replacement means for the session
 * is decided elsewhere (issue 16's policy).
 */
export const OBJECT_CHANGED = 'OBJECT_CHANGED';
