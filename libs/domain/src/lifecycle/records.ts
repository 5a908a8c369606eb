import { FileStatus, GroupStatus, JobStatus, JobType } from '@app/contracts';

/**
 * Rows as the SQL paths read them (RETURNING of a compare-and-set, a locking select), named like the entities'
 * fields so that an entity is also a record: events and decisions are written once for both.
 */
export interface SessionRecord {
  id: string;
  groupId: string | null;
  userId: string | null;
  bucket: string;
  objectKey: string;
  uploadId: string | null;
  status: FileStatus;
  filename: string;
  contentType: string;
  size: number | null;
  checksumSha256: string | null;
  etag: string | null;
  error: string | null;
  errorMessage: string | null;
}

export interface JobRecord {
  id: string;
  sessionId: string;
  type: JobType;
  status: JobStatus;
  priority: number;
  required: boolean;
  config: Record<string, unknown>;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
  maxAttempts: number;
  lockedUntil: Date | null;
  runAfter: Date | null;
  leaseToken: string | null;
}

export interface GroupRecord {
  id: string;
  userId: string | null;
  status: GroupStatus;
  totalFiles: number;
  completedFiles: number;
  failedFiles: number;
  error: string | null;
}

/** Columns of upload_session a SessionRecord is read from (for RETURNING and selects; `s` is the table alias). */
export const SESSION_COLUMNS =
  's.id, s.group_id, s.user_id, s.bucket, s.object_key, s.upload_id, s.status, s.filename, s.content_type, s.size, s.checksum_sha256, s.etag, s.error, s.error_message';

export const JOB_COLUMNS =
  'j.id, j.session_id, j.type, j.status, j.priority, j.required, j.config, j.result, j.error, j.attempts, j.max_attempts, j.locked_until, j.run_after, j.lease_token';

export const GROUP_COLUMNS = 'g.id, g.user_id, g.status, g.total_files, g.completed_files, g.failed_files, g.error';

type Row = Record<string, unknown>;

/** timestamptz as the pool's connections read it: MikroORM has node-postgres hand it over as text. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v as string);
}

export function toSessionRecord(r: Row): SessionRecord {
  return {
    id: r.id as string,
    groupId: (r.group_id as string | null) ?? null,
    userId: (r.user_id as string | null) ?? null,
    bucket: r.bucket as string,
    objectKey: r.object_key as string,
    uploadId: (r.upload_id as string | null) ?? null,
    status: r.status as FileStatus,
    filename: r.filename as string,
    contentType: r.content_type as string,
    // bigint arrives as a string; sizes stay far below 2^53.
    size: r.size === null || r.size === undefined ? null : Number(r.size),
    checksumSha256: (r.checksum_sha256 as string | null) ?? null,
    etag: (r.etag as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
  };
}

export function toJobRecord(r: Row): JobRecord {
  return {
    id: r.id as string,
    sessionId: r.session_id as string,
    type: r.type as JobType,
    status: r.status as JobStatus,
    priority: Number(r.priority),
    required: r.required as boolean,
    config: (r.config as Record<string, unknown> | null) ?? {},
    result: (r.result as Record<string, unknown> | null) ?? null,
    error: (r.error as string | null) ?? null,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    lockedUntil: toDate(r.locked_until),
    runAfter: toDate(r.run_after),
    leaseToken: (r.lease_token as string | null) ?? null,
  };
}

export function toGroupRecord(r: Row): GroupRecord {
  return {
    id: r.id as string,
    userId: (r.user_id as string | null) ?? null,
    status: r.status as GroupStatus,
    totalFiles: Number(r.total_files),
    completedFiles: Number(r.completed_files),
    failedFiles: Number(r.failed_files),
    error: (r.error as string | null) ?? null,
  };
}
