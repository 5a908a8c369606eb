import { Inject, Injectable } from '@nestjs/common';
import { FileStatus, JobStatus, JobType, PartStatus } from '@app/contracts';
import type { ProcessingJob } from '../job/processing-job.entity';
import type { OwnedResource } from '../identity/actor';
import { Position } from '../pagination/cursor';
import { SQL_DATABASE, SqlDatabase } from '../ports/sql.port';
import type { UploadSession } from './upload-session.entity';

/** What a read of a session returns: its public fields and what access is decided on. */
export type SessionSummary = Pick<
  UploadSession,
  | 'id'
  | 'groupId'
  | 'userId'
  | 'bucket'
  | 'objectKey'
  | 'uploadId'
  | 'status'
  | 'filename'
  | 'contentType'
  | 'size'
  | 'checksumSha256'
  | 'sha256'
  | 'md5'
  | 'etag'
  | 'error'
  | 'errorMessage'
  | 'metadata'
  | 'totalParts'
  | 'completedParts'
  | 'uploadTokenHash'
  | 'uploadedAt'
  | 'expiresAt'
  | 'objectDeletedAt'
  | 'createdAt'
  | 'updatedAt'
>;

export type JobSummary = Pick<
  ProcessingJob,
  | 'id'
  | 'sessionId'
  | 'type'
  | 'status'
  | 'priority'
  | 'required'
  | 'config'
  | 'result'
  | 'error'
  | 'attempts'
  | 'maxAttempts'
  | 'createdAt'
  | 'updatedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'runAfter'
>;

export interface SessionDetails {
  session: SessionSummary;
  jobs: JobSummary[];
  parts: { total: number; uploaded: number; uploadedBytes: number };
}

const SESSION_COLUMNS = `s.id, s.group_id, s.user_id, s.bucket, s.object_key, s.upload_id, s.status, s.filename, s.content_type, s.size,
  s.checksum_sha256, s.sha256, s.md5, s.etag, s.error, s.error_message, s.metadata, s.total_parts, s.completed_parts,
  s.upload_token_hash, s.uploaded_at, s.expires_at, s.object_deleted_at, s.created_at, s.updated_at`;

/** One session, its jobs (oldest first) and its uploaded parts summed: one statement, one round trip. */
const DETAILS = `select ${SESSION_COLUMNS},
     coalesce((select json_agg(json_build_array(j.id, j.type, j.status, j.priority, j.required, j.config, j.result, j.error, j.attempts,
                                                 j.max_attempts, j.created_at, j.updated_at, j.started_at, j.finished_at, j.run_after)
                               order by j.created_at, j.priority)
                 from processing_job j where j.session_id = s.id), '[]') as jobs,
     (select json_build_array(count(*), coalesce(sum(p.size), 0)) from file_part p where p.session_id = s.id and p.status = '${PartStatus.UPLOADED}') as parts
   from upload_session s where s.id = $1`;

/** A file by content: base64 SHA-256 and size in bytes. */
export interface ContentKey {
  checksumSha256: string;
  size: number;
}

/** The owner's stored copy of some content: what a server-side copy needs. */
export interface HeldCopy {
  id: string;
  bucket: string;
  objectKey: string;
  etag: string | null;
  contentType: string;
}

/*
 * The owner's newest COMPLETED session with that content, per file: an index-only probe of
 * upload_session_completed_content_index each. COMPLETED means VALIDATION verified the declared checksum
 * against the stored bytes, and the object's deletion has not been seen (a removal turns the session DELETED).
 */
const HELD = `select f.i::int as i, h.id
   from unnest($2::text[], $3::bigint[]) with ordinality as f(checksum, size, i)
   cross join lateral (
     select s.id from upload_session s
      where s.user_id = $1 and s.checksum_sha256 = f.checksum and s.size = f.size
        and s.status = '${FileStatus.COMPLETED}' and s.checksum_sha256 is not null and s.user_id is not null
      order by s.created_at desc limit 1) h`;

/** The owner's COMPLETED sessions with that content, newest first (a few: the copy falls back to the next one). */
const HELD_COPIES = `select s.id, s.bucket, s.object_key, s.etag, s.content_type from upload_session s
   where s.user_id = $1 and s.checksum_sha256 = $2 and s.size = $3
     and s.status = '${FileStatus.COMPLETED}' and s.checksum_sha256 is not null and s.user_id is not null
   order by s.created_at desc limit 3`;

export interface SessionFilter {
  /** Only this owner's sessions; absent: everyone's (admins). */
  userId?: string;
  groupId?: string;
  status?: FileStatus;
  /** Continue after this position (keyset pagination, newest first). */
  after?: Position | null;
  limit: number;
}

interface SessionRow {
  id: string;
  group_id: string | null;
  user_id: string | null;
  bucket: string;
  object_key: string;
  upload_id: string | null;
  status: FileStatus;
  filename: string;
  content_type: string;
  size: string | null;
  checksum_sha256: string | null;
  sha256: string | null;
  md5: string | null;
  etag: string | null;
  error: string | null;
  error_message: string | null;
  metadata: Record<string, string>;
  total_parts: number;
  completed_parts: number;
  upload_token_hash: string | null;
  // Timestamps arrive as Postgres writes them ('2026-12-01 05:45:00.123+00'): MikroORM's connection keeps them text.
  uploaded_at: string | null;
  expires_at: string;
  object_deleted_at: string | null;
  created_at: string;
  updated_at: string;
}

type JobTuple = [
  string,
  JobType,
  JobStatus,
  number,
  boolean,
  Record<string, unknown>,
  Record<string, unknown> | null,
  string | null,
  number,
  number,
  string,
  string,
  string | null,
  string | null,
  string | null,
];

/**
 * Reads of upload sessions on the request path, each one statement shaped for its response, without the
 * unit of work (nothing read here is written back). Lists are keyset pages over (created_at, id) written as
 * a row comparison, which Postgres uses as an index condition: page 25 reads no more rows than page 1.
 */
@Injectable()
export class UploadSessionQueries {
  private readonly pages = new Map<string, string>();

  constructor(@Inject(SQL_DATABASE) private readonly sql: SqlDatabase) {}

  /** The session with its jobs and parts summary; null when there is no such session. Access is the caller's to decide. */
  async details(id: string): Promise<SessionDetails | null> {
    const [row] = await this.sql.query<SessionRow & { jobs: JobTuple[]; parts: [number, number | string] }>(DETAILS, [id]);
    if (!row) return null;
    const session = toSession(row);
    return {
      session,
      jobs: row.jobs.map((j) => toJob(session.id, j)),
      parts: { total: session.totalParts, uploaded: Number(row.parts[0]), uploadedBytes: Number(row.parts[1]) },
    };
  }

  /** Who may see the session (its owner, or its upload token's hash), by its primary key alone; null when there is none. */
  async owner(id: string): Promise<OwnedResource | null> {
    const [row] = await this.sql.query<Pick<SessionRow, 'user_id' | 'upload_token_hash'>>(
      'select s.user_id, s.upload_token_hash from upload_session s where s.id = $1',
      [id],
    );
    return row ? { userId: row.user_id, uploadTokenHash: row.upload_token_hash } : null;
  }

  /** For each file, the id of the owner's COMPLETED session with that content, or null; in the files' order. */
  async held(userId: string, files: ContentKey[]): Promise<(string | null)[]> {
    const found: (string | null)[] = files.map(() => null);
    if (files.length === 0) return found;
    const rows = await this.sql.query<{ i: number; id: string }>(HELD, [userId, files.map((f) => f.checksumSha256), files.map((f) => f.size)]);
    for (const r of rows) found[r.i - 1] = r.id;
    return found;
  }

  /** The owner's COMPLETED sessions holding that content, newest first (at most 3). */
  async heldCopies(userId: string, file: ContentKey): Promise<HeldCopy[]> {
    const rows = await this.sql.query<{ id: string; bucket: string; object_key: string; etag: string | null; content_type: string }>(HELD_COPIES, [
      userId,
      file.checksumSha256,
      file.size,
    ]);
    return rows.map((r) => ({ id: r.id, bucket: r.bucket, objectKey: r.object_key, etag: r.etag, contentType: r.content_type }));
  }

  /** `limit` sessions matching the filter, newest first, plus one more when there is one (toPage makes the cursor). */
  async page(filter: SessionFilter): Promise<SessionSummary[]> {
    const conditions: [shape: string, sql: string, values: unknown[]][] = [];
    if (filter.userId !== undefined) conditions.push(['user', 's.user_id = $?', [filter.userId]]);
    if (filter.groupId !== undefined) conditions.push(['group', 's.group_id = $?::uuid', [filter.groupId]]);
    if (filter.status !== undefined) conditions.push(['status', 's.status = $?', [filter.status]]);
    if (filter.after) conditions.push(['after', '(s.created_at, s.id) < ($?::timestamptz, $?::uuid)', [filter.after.createdAt, filter.after.id]]);
    const values = [...conditions.flatMap(([, , v]) => v), filter.limit + 1];
    // One statement text per combination of filters: each is prepared (and planned) on its own.
    const name = `upload_session_page_${conditions.map(([shape]) => shape).join('_') || 'all'}`;
    let statement = this.pages.get(name);
    if (!statement) {
      let n = 0;
      const where = conditions.map(([, sql]) => sql.replace(/\$\?/g, () => `$${++n}`));
      statement = `select ${SESSION_COLUMNS} from upload_session s ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
          order by s.created_at desc, s.id desc limit $${n + 1}`;
      this.pages.set(name, statement);
    }
    return (await this.sql.query<SessionRow>(statement, values)).map(toSession);
  }
}

function toSession(r: SessionRow): SessionSummary {
  return {
    id: r.id,
    groupId: r.group_id,
    userId: r.user_id,
    bucket: r.bucket,
    objectKey: r.object_key,
    uploadId: r.upload_id,
    status: r.status,
    filename: r.filename,
    contentType: r.content_type,
    size: r.size === null ? null : Number(r.size),
    checksumSha256: r.checksum_sha256,
    sha256: r.sha256,
    md5: r.md5,
    etag: r.etag,
    error: r.error,
    errorMessage: r.error_message,
    metadata: r.metadata,
    totalParts: r.total_parts,
    completedParts: r.completed_parts,
    uploadTokenHash: r.upload_token_hash,
    uploadedAt: date(r.uploaded_at),
    expiresAt: new Date(r.expires_at),
    objectDeletedAt: date(r.object_deleted_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** A timestamp as Postgres writes it, in text or in JSON (V8 reads both; what MikroORM does too). */
function date(v: string | null): Date | null {
  return v === null ? null : new Date(v);
}

function toJob(sessionId: string, j: JobTuple): JobSummary {
  const [id, type, status, priority, required, config, result, error, attempts, maxAttempts, createdAt, updatedAt, startedAt, finishedAt, runAfter] = j;
  return {
    id,
    sessionId,
    type,
    status,
    priority,
    required,
    config,
    result,
    error,
    attempts,
    maxAttempts,
    createdAt: new Date(createdAt),
    updatedAt: new Date(updatedAt),
    startedAt: date(startedAt),
    finishedAt: date(finishedAt),
    runAfter: date(runAfter),
  };
}
