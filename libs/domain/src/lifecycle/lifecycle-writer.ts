import { Inject, Injectable } from '@nestjs/common';
import { FileStatus, GroupStatus, JobStatus, JobType, PartStatus } from '@app/contracts';
import { Sql, SQL_DATABASE, SqlDatabase, Tx } from '../ports/sql.port';
import { releaseQuota, settleQuota } from '../user/storage-quota';
import { GROUP_COLUMNS, GroupRecord, JOB_COLUMNS, JobRecord, SESSION_COLUMNS, SessionRecord, toGroupRecord, toJobRecord, toSessionRecord } from './records';
import { lockedSessionsOfJobs } from './row-locks';
import {
  canTransition,
  FILE_STATUS_TRANSITIONS,
  GROUP_STATUS_TRANSITIONS,
  JOB_STATUS_TRANSITIONS,
  PART_STATUS_TRANSITIONS,
  sourcesOf,
  TransitionTable,
} from './transitions';

function preconditions<S extends string>(table: TransitionTable<S>, to: S, from?: readonly S[]): S[] {
  const allowed = sourcesOf(table, to);
  if (!from) return allowed;
  const illegal = from.filter((f) => !canTransition(table, f, to));
  if (illegal.length > 0) throw new Error(`Illegal transition ${illegal.join('|')} → ${to}`);
  return [...from];
}

/** Error of a group (and of its waiting sessions) ended by its expiry. WARNING: persisted and published; clients match on it. */
export const GROUP_EXPIRED_ERROR = 'EXPIRED';

/** A session in one of these holds no storage quota: entering one gives the bytes back, in the same transaction, once. */
const RELEASES_QUOTA: ReadonlySet<FileStatus> = new Set([FileStatus.FAILED, FileStatus.DELETED]);

/** Sessions a created object moves to UPLOADED: those still waiting for their bytes. */
const WAITING_FOR_BYTES: readonly FileStatus[] = [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING];

/** A created object in the store, as a notification (or a HEAD standing in for a lost one) tells of it. */
export interface StoredObjectFacts {
  bucket: string;
  objectKey: string;
  etag: string | null;
  size: number;
}

/** How a RUNNING job's attempt ends, for the processor holding its lease. */
export interface JobSettlement {
  id: string;
  /** The lease token of the claim: the write happens only while that claim still holds the job. */
  leaseToken: string;
  to: JobStatus.COMPLETED | JobStatus.FAILED | JobStatus.PENDING;
  result: Record<string, unknown> | null;
  error: string | null;
  /** PENDING only: run again after this delay (a retry), or at once (0). */
  delayMs?: number;
  /** PENDING only: given back unfinished (shutdown), so the attempt is not counted. */
  release?: boolean;
}

/**
 * The one writer of statuses. Every verb checks its lifecycle table and persists as a compare-and-set
 * (`UPDATE … WHERE id = ? AND status IN (allowed sources)`), one statement per verb whatever the number of
 * rows: it returns what moved (false, or the rows that moved), and a row that did not move was not in an
 * allowed status: the caller lost a race or the change already happened, and must re-read, never overwrite.
 *
 * Lock order (every transaction that writes several of these takes them in this order, each kind sorted by
 * id): upload_session rows → processing_job rows → upload_group rows → app_user rows. A job's row is only
 * written by a transaction that already holds its session's row. See docs/operations.md.
 */
@Injectable()
export class LifecycleWriter {
  constructor(@Inject(SQL_DATABASE) private readonly db: SqlDatabase) {}

  // ---- UploadSession (FileStatus)

  async markUploading(tx: Tx, id: string): Promise<boolean> {
    return (await this.moveSessions(tx, [id], FileStatus.UPLOADING, [FileStatus.PENDING_UPLOAD])).length === 1;
  }

  /** `size` records the stored size of a session whose client declared none. */
  async markUploaded(tx: Tx, id: string, facts: { etag: string | null; size?: number }): Promise<boolean> {
    const rows = await this.db.of(tx).query(
      `update upload_session s set status = $2, etag = $3, size = coalesce($4::bigint, s.size), uploaded_at = now(), updated_at = now(), version = s.version + 1
        where s.id = $1 and s.status = any($5::text[]) returning s.id`,
      [id, FileStatus.UPLOADED, facts.etag, facts.size ?? null, preconditions(FILE_STATUS_TRANSITIONS, FileStatus.UPLOADED)],
    );
    return rows.length === 1;
  }

  /**
   * PENDING_UPLOAD | UPLOADING → UPLOADED for every object whose session waits for it and whose size is the
   * declared one (a session that declared none takes the stored size), and the jobs of their plans created
   * PENDING: one statement for a batch of notifications. Returns the sessions that moved and their jobs.
   * The caller holds the sessions' rows (the intake opens its round by locking them).
   */
  async markObjectsUploaded(tx: Tx, objects: StoredObjectFacts[]): Promise<{ sessions: SessionRecord[]; jobs: JobRecord[] }> {
    if (objects.length === 0) return { sessions: [], jobs: [] };
    const [row] = await this.db.of(tx).query<{ sessions: Record<string, unknown>[]; jobs: Record<string, unknown>[] }>(
      `with uploaded as (
         update upload_session s set status = $5, etag = v.etag, size = coalesce(s.size, v.size), uploaded_at = now(), updated_at = now(), version = s.version + 1
           from unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) as v(bucket, object_key, etag, size)
          where s.object_key = v.object_key and s.bucket = v.bucket and s.status = any($6::text[])
            and (s.size = v.size or (s.size is null and v.size > 0))
          returning ${SESSION_COLUMNS}, s.job_plan, s.quota_bytes > s.size as unsettled
       ), created as (
         -- The plan was checked when the session was created (planJobs); the table's checks stand behind it.
         insert into processing_job as j (id, session_id, type, status, priority, required, config, attempts, max_attempts, created_at, updated_at)
         select gen_random_uuid(), u.id, p.spec->>'type', $7, (p.spec->>'priority')::smallint, (p.spec->>'required')::boolean,
                coalesce(p.spec->'config', '{}'::jsonb), 0, (p.spec->>'maxAttempts')::int, now(), now()
           from uploaded u cross join lateral jsonb_array_elements(u.job_plan) with ordinality as p(spec, n)
          order by u.id, p.n
         returning ${JOB_COLUMNS}
       )
       select (select coalesce(json_agg(u), '[]') from uploaded u) as sessions, (select coalesce(json_agg(c), '[]') from created c) as jobs`,
      [
        objects.map((o) => o.bucket),
        objects.map((o) => o.objectKey),
        objects.map((o) => o.etag),
        objects.map((o) => o.size),
        FileStatus.UPLOADED,
        preconditions(FILE_STATUS_TRANSITIONS, FileStatus.UPLOADED, WAITING_FOR_BYTES),
        JobStatus.PENDING,
      ],
    );
    // A size nobody declared (Uppy's POST form) was reserved at its ceiling: keep only what was stored.
    const unsettled = row.sessions.filter((r) => r.unsettled === true).map((r) => String(r.id));
    if (unsettled.length > 0) await settleQuota(this.db.of(tx), unsettled);
    return { sessions: row.sessions.map(toSessionRecord), jobs: row.jobs.map(toJobRecord) };
  }

  async markProcessing(tx: Tx, id: string): Promise<boolean> {
    return (await this.moveSessions(tx, [id], FileStatus.PROCESSING)).length === 1;
  }

  async markCompleted(tx: Tx, id: string): Promise<boolean> {
    return (await this.moveSessions(tx, [id], FileStatus.COMPLETED)).length === 1;
  }

  /** `from` narrows the sources (e.g. only sessions still waiting for their bytes). */
  async markFailed(tx: Tx, id: string, error: string, errorMessage: string, from?: FileStatus[]): Promise<boolean> {
    return (await this.failSessions(tx, [{ id, error, errorMessage }], from)).length === 1;
  }

  /** The client gave up before the file arrived: PENDING_UPLOAD | UPLOADING → FAILED with error ABORTED. */
  async markAborted(tx: Tx, id: string, errorMessage: string): Promise<boolean> {
    return this.markFailed(tx, id, 'ABORTED', errorMessage, [...WAITING_FOR_BYTES]);
  }

  async markDeleted(tx: Tx, id: string): Promise<boolean> {
    return (await this.moveSessions(tx, [id], FileStatus.DELETED)).length === 1;
  }

  /**
   * Records that what FAILED sessions left in the store has been deleted (not a status: a fact of a final one),
   * once: a session no longer FAILED, or already recorded, is not written. Returns the ids recorded.
   */
  async markFailedObjectsDeleted(tx: Tx, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .of(tx)
      .query<{ id: string }>(
        `update upload_session s set object_deleted_at = now(), version = s.version + 1 where s.id = any($1::uuid[]) and s.status = $2 and s.object_deleted_at is null returning s.id`,
        [ids, FileStatus.FAILED],
      );
    return rows.map((r) => r.id);
  }

  /** Sessions → `to` (COMPLETED, PROCESSING, DELETED, …) in one statement; returns those that moved. */
  async moveSessions(tx: Tx, ids: string[], to: FileStatus, from?: FileStatus[]): Promise<SessionRecord[]> {
    if (ids.length === 0) return [];
    const sql = this.db.of(tx);
    const rows = await sql.query(
      `update upload_session s set status = $2, updated_at = now(), version = s.version + 1
        where s.id = any($1::uuid[]) and s.status = any($3::text[]) returning ${SESSION_COLUMNS}`,
      [ids, to, preconditions(FILE_STATUS_TRANSITIONS, to, from)],
    );
    const moved = rows.map(toSessionRecord);
    if (RELEASES_QUOTA.has(to) && moved.length > 0) await this.releaseQuotaOf(sql, moved);
    return moved;
  }

  /** Sessions → FAILED, each with its own error, in one statement; returns those that moved. */
  async failSessions(tx: Tx, failures: { id: string; error: string; errorMessage: string }[], from?: FileStatus[]): Promise<SessionRecord[]> {
    if (failures.length === 0) return [];
    const sql = this.db.of(tx);
    const rows = await sql.query(
      `update upload_session s set status = $4, error = v.error, error_message = v.error_message, updated_at = now(), version = s.version + 1
         from unnest($1::uuid[], $2::text[], $3::text[]) as v(id, error, error_message)
        where s.id = v.id and s.status = any($5::text[]) returning ${SESSION_COLUMNS}`,
      [
        failures.map((f) => f.id),
        failures.map((f) => f.error),
        failures.map((f) => f.errorMessage),
        FileStatus.FAILED,
        preconditions(FILE_STATUS_TRANSITIONS, FileStatus.FAILED, from),
      ],
    );
    const moved = rows.map(toSessionRecord);
    if (moved.length > 0) await this.releaseQuotaOf(sql, moved);
    return moved;
  }

  /**
   * Gives back the quota of sessions that just ended, in the lock order: their groups (which the caller's
   * SessionEndings updates next) are locked before their owners' app_user rows.
   */
  private async releaseQuotaOf(sql: Sql, ended: SessionRecord[]): Promise<void> {
    const groupIds = [...new Set(ended.map((s) => s.groupId).filter((g): g is string => g !== null))].sort();
    if (groupIds.length > 0) await sql.query(`select g.id from upload_group g where g.id = any($1::uuid[]) order by g.id for update`, [groupIds]);
    await releaseQuota(
      sql,
      ended.map((s) => s.id),
    );
  }

  /**
   * Sessions whose stored object was replaced by other bytes (issue 16): UPLOADED | PROCESSING → FAILED,
   * COMPLETED → DELETED (final: the table allows no FAILED), each with error OBJECT_REPLACED; only while the
   * session still records `etag` (the bytes it announced). One statement; returns those that moved.
   */
  async markReplaced(tx: Tx, replaced: { id: string; etag: string; errorMessage: string }[]): Promise<SessionRecord[]> {
    if (replaced.length === 0) return [];
    const failFrom = preconditions(FILE_STATUS_TRANSITIONS, FileStatus.FAILED, [FileStatus.UPLOADED, FileStatus.PROCESSING]);
    const deleteFrom = preconditions(FILE_STATUS_TRANSITIONS, FileStatus.DELETED, [FileStatus.COMPLETED]);
    const sql = this.db.of(tx);
    const rows = await sql.query(
      `update upload_session s set status = case when s.status = any($5::text[]) then $4 else $6 end,
              error = 'OBJECT_REPLACED', error_message = v.error_message, updated_at = now(), version = s.version + 1
         from unnest($1::uuid[], $2::text[], $3::text[]) as v(id, etag, error_message)
        where s.id = v.id and s.etag = v.etag and s.status = any($7::text[]) returning ${SESSION_COLUMNS}`,
      [
        replaced.map((r) => r.id),
        replaced.map((r) => r.etag),
        replaced.map((r) => r.errorMessage),
        FileStatus.FAILED,
        failFrom,
        FileStatus.DELETED,
        [...failFrom, ...deleteFrom],
      ],
    );
    const moved = rows.map(toSessionRecord);
    if (moved.length > 0) await this.releaseQuotaOf(sql, moved);
    return moved;
  }

  // ---- FilePart (PartStatus)

  /** PENDING → UPLOADING for parts whose URL a client asked for; returns how many moved. */
  async markPartsUploading(tx: Tx, sessionId: string, partNumbers: number[]): Promise<number> {
    if (partNumbers.length === 0) return 0;
    const rows = await this.db
      .of(tx)
      .query(`update file_part set status = $3 where session_id = $1 and part_number = any($2::int[]) and status = any($4::text[]) returning id`, [
        sessionId,
        partNumbers,
        PartStatus.UPLOADING,
        preconditions(PART_STATUS_TRANSITIONS, PartStatus.UPLOADING, [PartStatus.PENDING]),
      ]);
    return rows.length;
  }

  /** PENDING | UPLOADING → UPLOADED with what the store holds. */
  async markPartUploaded(tx: Tx, sessionId: string, partNumber: number, facts: { etag: string; size: number; uploadedAt: Date | null }): Promise<boolean> {
    const rows = await this.db.of(tx).query(
      `update file_part set status = $3, etag = $4, size = $5, uploaded_at = coalesce($6::timestamptz, now())
        where session_id = $1 and part_number = $2 and status = any($7::text[]) returning id`,
      [sessionId, partNumber, PartStatus.UPLOADED, facts.etag, facts.size, facts.uploadedAt, preconditions(PART_STATUS_TRANSITIONS, PartStatus.UPLOADED)],
    );
    return rows.length === 1;
  }

  /** PENDING | UPLOADING → FAILED for every unfinished part of a session (abort); returns how many moved. */
  async failUnfinishedParts(tx: Tx, sessionId: string): Promise<number> {
    const rows = await this.db
      .of(tx)
      .query(`update file_part set status = $2 where session_id = $1 and status = any($3::text[]) returning id`, [
        sessionId,
        PartStatus.FAILED,
        preconditions(PART_STATUS_TRANSITIONS, PartStatus.FAILED),
      ]);
    return rows.length;
  }

  // ---- ProcessingJob (JobStatus)

  /**
   * Opens a claim, in one statement: locks the sessions of the jobs named (first, by id: the lock order), then
   * PENDING → RUNNING for this processor, counting the attempt, taking a lease and a fresh lease token: the jobs
   * named, and (when `siblingTypes` is given) their sessions' other due jobs of those types, which share one read
   * of the object. Only due jobs (`runAfter` passed) of sessions in a `runnable` status move; their sessions
   * UPLOADED → PROCESSING. Returns the jobs claimed, every locked session (as now), and those that started.
   */
  async claimJobs(
    tx: Tx,
    claim: { ids: string[]; siblingTypes?: JobType[]; leaseMs: number; runnable: readonly FileStatus[] },
  ): Promise<{ jobs: JobRecord[]; sessions: Map<string, SessionRecord>; started: Set<string> }> {
    if (claim.ids.length === 0) return { jobs: [], sessions: new Map(), started: new Set() };
    const [row] = await this.db.of(tx).query<{ sessions: Record<string, unknown>[]; jobs: Record<string, unknown>[]; started: string[] }>(
      `with ${lockedSessionsOfJobs('$1')}, claimed as (
         update processing_job j
            set status = $4, attempts = j.attempts + 1, started_at = now(), locked_until = now() + $3 * interval '1 millisecond',
                lease_token = gen_random_uuid(), run_after = null, updated_at = now()
           -- Per locked session, its jobs by session_id: an index probe each, whatever backlog waits elsewhere
           -- ("offset 0" keeps the planner from flattening it into a scan of every PENDING job).
           from locked l cross join lateral (
                  select x.id from processing_job x
                   where x.session_id = l.id and (x.id = any($1::uuid[]) or x.type = any($2::text[]))
                     and x.status = any($5::text[]) and (x.run_after is null or x.run_after <= now())
                  offset 0
                ) c
          -- The compare-and-set itself is on the row updated: after waiting for a concurrent claim's lock, Postgres
          -- checks these again on the row as that claim left it.
          where j.id = c.id and l.status = any($6::text[]) and j.status = any($5::text[]) and (j.run_after is null or j.run_after <= now())
          returning ${JOB_COLUMNS}
       ), started as (
         update upload_session s set status = $7, updated_at = now(), version = s.version + 1
          where s.id in (select session_id from claimed) and s.status = any($8::text[])
          returning s.id
       )
       select (select coalesce(json_agg(l), '[]') from locked l) as sessions, (select coalesce(json_agg(c), '[]') from claimed c) as jobs,
              (select coalesce(json_agg(st.id), '[]') from started st) as started`,
      [
        claim.ids,
        claim.siblingTypes ?? [],
        claim.leaseMs,
        JobStatus.RUNNING,
        preconditions(JOB_STATUS_TRANSITIONS, JobStatus.RUNNING, [JobStatus.PENDING]),
        claim.runnable,
        FileStatus.PROCESSING,
        preconditions(FILE_STATUS_TRANSITIONS, FileStatus.PROCESSING, [FileStatus.UPLOADED]),
      ],
    );
    const started = new Set(row.started);
    const sessions = new Map(
      row.sessions.map((r) => {
        const session = toSessionRecord(r);
        return [session.id, started.has(session.id) ? { ...session, status: FileStatus.PROCESSING } : session];
      }),
    );
    return { jobs: row.jobs.map(toJobRecord), sessions, started };
  }

  /**
   * RUNNING → RUNNING for jobs whose processor died (lease expired) and that have an attempt left: a new
   * attempt under a new lease token. A job that used its last attempt is not taken over (see failAbandonedJobs).
   */
  async takeOverJobs(tx: Tx, ids: string[], leaseMs: number): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.of(tx).query(
      `update processing_job j
          set attempts = j.attempts + 1, started_at = now(), locked_until = now() + $2 * interval '1 millisecond', lease_token = gen_random_uuid(), updated_at = now()
        where j.id = any($1::uuid[]) and j.status = any($3::text[]) and j.locked_until < now() and j.attempts < j.max_attempts
        returning ${JOB_COLUMNS}`,
      [ids, leaseMs, preconditions(JOB_STATUS_TRANSITIONS, JobStatus.RUNNING, [JobStatus.RUNNING])],
    );
    return rows.map(toJobRecord);
  }

  /**
   * RUNNING → FAILED for jobs whose processor died (lease expired) during their last attempt: a job that
   * crashes its processor every time runs out of attempts like any other.
   */
  async failAbandonedJobs(tx: Tx, ids: string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.of(tx).query(
      `update processing_job j
          set status = $2, error = 'lease expired on attempt ' || j.attempts || ' of ' || j.max_attempts || ': its processor stopped',
              finished_at = now(), locked_until = null, lease_token = null, updated_at = now()
        where j.id = any($1::uuid[]) and j.status = any($3::text[]) and j.locked_until < now() and j.attempts >= j.max_attempts
        returning ${JOB_COLUMNS}`,
      [ids, JobStatus.FAILED, preconditions(JOB_STATUS_TRANSITIONS, JobStatus.FAILED, [JobStatus.RUNNING])],
    );
    return rows.map(toJobRecord);
  }

  /**
   * RUNNING → PENDING for jobs whose processor died (lease expired) with attempts left: the reconciler queues
   * them again. The dead attempt stays counted.
   */
  async requeueAbandonedJobs(tx: Tx, ids: string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.of(tx).query(
      `update processing_job j set status = $2, error = 'lease expired: its processor stopped', run_after = null, locked_until = null, lease_token = null, updated_at = now()
        where j.id = any($1::uuid[]) and j.status = any($3::text[]) and j.locked_until < now() and j.attempts < j.max_attempts
        returning ${JOB_COLUMNS}`,
      [ids, JobStatus.PENDING, preconditions(JOB_STATUS_TRANSITIONS, JobStatus.PENDING, [JobStatus.RUNNING])],
    );
    return rows.map(toJobRecord);
  }

  /** Extends the leases of running jobs this processor holds; returns the ids still held (not cancelled, not taken over). */
  async renewJobLeases(tx: Tx, held: { id: string; leaseToken: string }[], leaseMs: number): Promise<Set<string>> {
    if (held.length === 0) return new Set();
    const rows = await this.db.of(tx).query<{ id: string }>(
      `update processing_job j set locked_until = now() + $3 * interval '1 millisecond'
         from unnest($1::uuid[], $2::uuid[]) as v(id, lease_token)
        where j.id = v.id and j.status = $4 and j.lease_token = v.lease_token returning j.id`,
      [held.map((h) => h.id), held.map((h) => h.leaseToken), leaseMs, JobStatus.RUNNING],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * The end of running attempts, fenced by their lease tokens, in one statement that first locks their sessions
   * (by id: the lock order): RUNNING → COMPLETED (with the result), FAILED (with the error), or PENDING (a retry
   * after `delayMs`, or given back unfinished, uncounted). What a completed job adds to its session (`facts`,
   * e.g. CHECKSUM's digests) is written with it. Returns the jobs written (one missing lost its lease: cancelled,
   * or taken over, and must not be reported) and the sessions as locked.
   */
  async settleJobs(
    tx: Tx,
    settlements: JobSettlement[],
    facts: { jobId: string; sha256?: string; md5?: string }[] = [],
  ): Promise<{ jobs: JobRecord[]; sessions: Map<string, SessionRecord> }> {
    if (settlements.length === 0) return { jobs: [], sessions: new Map() };
    for (const s of settlements) preconditions(JOB_STATUS_TRANSITIONS, s.to, [JobStatus.RUNNING]);
    const [row] = await this.db.of(tx).query<{ sessions: Record<string, unknown>[]; jobs: Record<string, unknown>[] }>(
      `with ${lockedSessionsOfJobs('$1')}, settled as (
         update processing_job j
            set status = v.status,
                result = case when v.status = $8 then j.result else v.result end,
                error = case when v.release then j.error else v.error end,
                finished_at = case when v.status = $8 then null else now() end,
                run_after = case when v.status = $8 and v.delay_ms > 0 then now() + v.delay_ms * interval '1 millisecond' end,
                attempts = case when v.release then greatest(j.attempts - 1, 0) else j.attempts end,
                locked_until = null, lease_token = null, updated_at = now()
           from unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::text[], $6::int[], $7::boolean[]) as v(id, lease_token, status, result, error, delay_ms, release),
                locked l
          where j.id = v.id and j.session_id = l.id and j.status = $9 and j.lease_token = v.lease_token
          returning ${JOB_COLUMNS}
       ), facts as (
         update upload_session s set sha256 = coalesce(f.sha256, s.sha256), md5 = coalesce(f.md5, s.md5), updated_at = now(), version = s.version + 1
           from unnest($10::uuid[], $11::text[], $12::text[]) as f(job_id, sha256, md5), settled x
          where x.id = f.job_id and x.status = $13 and s.id = x.session_id
          returning s.id
       )
       select (select coalesce(json_agg(l), '[]') from locked l) as sessions, (select coalesce(json_agg(x), '[]') from settled x) as jobs,
              (select count(*) from facts) as facts`,
      [
        settlements.map((s) => s.id),
        settlements.map((s) => s.leaseToken),
        settlements.map((s) => s.to),
        settlements.map((s) => (s.result === null ? null : JSON.stringify(s.result))),
        settlements.map((s) => s.error),
        settlements.map((s) => Math.max(0, Math.round(s.delayMs ?? 0))),
        settlements.map((s) => s.release === true),
        JobStatus.PENDING,
        JobStatus.RUNNING,
        facts.map((f) => f.jobId),
        facts.map((f) => f.sha256 ?? null),
        facts.map((f) => f.md5 ?? null),
        JobStatus.COMPLETED,
      ],
    );
    return { jobs: row.jobs.map(toJobRecord), sessions: new Map(row.sessions.map((r) => [r.id as string, toSessionRecord(r)])) };
  }

  /** PENDING → CANCELLED for jobs whose session ended before they ran, each with its reason. */
  async cancelPendingJobs(tx: Tx, cancels: { id: string; error: string }[]): Promise<JobRecord[]> {
    if (cancels.length === 0) return [];
    const rows = await this.db.of(tx).query(
      `update processing_job j set status = $3, error = v.error, finished_at = now(), locked_until = null, lease_token = null, updated_at = now()
         from unnest($1::uuid[], $2::text[]) as v(id, error)
        where j.id = v.id and j.status = any($4::text[]) returning ${JOB_COLUMNS}`,
      [
        cancels.map((c) => c.id),
        cancels.map((c) => c.error),
        JobStatus.CANCELLED,
        preconditions(JOB_STATUS_TRANSITIONS, JobStatus.CANCELLED, [JobStatus.PENDING]),
      ],
    );
    return rows.map(toJobRecord);
  }

  /**
   * FAILED | CANCELLED → PENDING by hand, keeping the history: `attempts` keeps counting, and the job gets its
   * budget again on top (`max_attempts = attempts + budget`, the budget being the maxAttempts it was created
   * with, kept in `attempt_budget`). The last error and result stay until the new run replaces them.
   * `maxRetries` caps a caller's manual retries (non-admins; null: no cap): 'retries-exhausted' once used up.
   */
  async requeueJob(tx: Tx, id: string, maxRetries: number | null = null): Promise<JobRecord | null | 'retries-exhausted'> {
    const sql = this.db.of(tx);
    const rows = await sql.query(
      `update processing_job j set status = $2, attempt_budget = coalesce(j.attempt_budget, j.max_attempts), max_attempts = j.attempts + coalesce(j.attempt_budget, j.max_attempts),
              finished_at = null, run_after = null, locked_until = null, lease_token = null, manual_retries = j.manual_retries + 1, updated_at = now()
        where j.id = $1 and j.status = any($3::text[]) and ($4::int is null or j.manual_retries < $4::int) returning ${JOB_COLUMNS}`,
      [id, JobStatus.PENDING, preconditions(JOB_STATUS_TRANSITIONS, JobStatus.PENDING, [JobStatus.FAILED, JobStatus.CANCELLED]), maxRetries],
    );
    if (rows.length === 1) return toJobRecord(rows[0]);
    if (maxRetries === null) return null;
    const [row] = await sql.query<{ manual_retries: number }>(`select manual_retries from processing_job where id = $1`, [id]);
    return row && row.manual_retries >= maxRetries ? 'retries-exhausted' : null;
  }

  /** PENDING | RUNNING → CANCELLED; a running processor notices when renewing its lease (its token is gone). */
  async cancelJob(tx: Tx, id: string, error: string): Promise<JobRecord | null> {
    const rows = await this.db.of(tx).query(
      `update processing_job j set status = $2, error = $3, finished_at = now(), locked_until = null, lease_token = null, updated_at = now()
        where j.id = $1 and j.status = any($4::text[]) returning ${JOB_COLUMNS}`,
      [id, JobStatus.CANCELLED, error, preconditions(JOB_STATUS_TRANSITIONS, JobStatus.CANCELLED, [JobStatus.PENDING, JobStatus.RUNNING])],
    );
    return rows.length === 1 ? toJobRecord(rows[0]) : null;
  }

  // ---- UploadGroup (GroupStatus)

  async moveGroup(tx: Tx, id: string, to: GroupStatus, from?: GroupStatus[]): Promise<boolean> {
    return (await this.moveGroups(tx, [id], to, from)).length === 1;
  }

  /**
   * PENDING | IN_PROGRESS → FAILED with error EXPIRED, only while the group is past its `expiresAt`. The caller
   * holds the group's sessions' rows (the lock order) and ends its waiting sessions in the same transaction.
   */
  async markGroupExpired(tx: Tx, id: string): Promise<GroupRecord | null> {
    const rows = await this.db
      .of(tx)
      .query(
        `update upload_group g set status = $2, error = $3, updated_at = now() where g.id = $1 and g.status = any($4::text[]) and g.expires_at <= now() returning ${GROUP_COLUMNS}`,
        [
          id,
          GroupStatus.FAILED,
          GROUP_EXPIRED_ERROR,
          preconditions(GROUP_STATUS_TRANSITIONS, GroupStatus.FAILED, [GroupStatus.PENDING, GroupStatus.IN_PROGRESS]),
        ],
      );
    return rows.length === 1 ? toGroupRecord(rows[0]) : null;
  }

  async moveGroups(tx: Tx, ids: string[], to: GroupStatus, from?: GroupStatus[]): Promise<GroupRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .of(tx)
      .query(
        `update upload_group g set status = $2, updated_at = now() where g.id = any($1::uuid[]) and g.status = any($3::text[]) returning ${GROUP_COLUMNS}`,
        [[...new Set(ids)].sort(), to, preconditions(GROUP_STATUS_TRANSITIONS, to, from)],
      );
    return rows.map(toGroupRecord);
  }
}
