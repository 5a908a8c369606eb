import { Inject, Injectable } from '@nestjs/common';
import { FileStatus, JobStatus, JobType, SessionEventType } from '@app/contracts';
import { JobSettlement, LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { JOB_COLUMNS, JobRecord, SessionRecord, toJobRecord } from '../../lifecycle/records';
import { RowLocks } from '../../lifecycle/row-locks';
import { Outbox, OutboxRow } from '../../outbox/outbox';
import { JobStore, JobStoreTx, SettleJobRow } from '../../ports/job-store.port';
import { SQL_DATABASE, SqlDatabase, Tx } from '../../ports/sql.port';
import { SessionEndings } from '../../upload/session-endings';

/** The job path's statements on one transaction: status writes through LifecycleWriter, the reads and the rest here. */
class SqlJobStoreTx implements JobStoreTx {
  constructor(
    private readonly tx: Tx,
    private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly endings: SessionEndings,
  ) {}

  claim(claim: { ids: string[]; siblingTypes?: JobType[]; leaseMs: number; runnable: readonly FileStatus[] }) {
    return this.lifecycle.claimJobs(this.tx, claim);
  }

  async findJobs(ids: string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    return (await this.db.of(this.tx).query(`select ${JOB_COLUMNS} from processing_job j where j.id = any($1::uuid[])`, [ids])).map(toJobRecord);
  }

  lockSessionsOfJobs(jobIds: string[]): Promise<Map<string, SessionRecord>> {
    return RowLocks.sessionsOfJobs(this.db.of(this.tx), jobIds);
  }

  cancelPending(cancels: { id: string; error: string }[]): Promise<JobRecord[]> {
    return this.lifecycle.cancelPendingJobs(this.tx, cancels);
  }

  takeOver(ids: string[], leaseMs: number): Promise<JobRecord[]> {
    return this.lifecycle.takeOverJobs(this.tx, ids, leaseMs);
  }

  failAbandoned(ids: string[]): Promise<JobRecord[]> {
    return this.lifecycle.failAbandonedJobs(this.tx, ids);
  }

  requeueAbandoned(ids: string[]): Promise<JobRecord[]> {
    return this.lifecycle.requeueAbandonedJobs(this.tx, ids);
  }

  renewLeases(held: { id: string; leaseToken: string }[], leaseMs: number): Promise<Set<string>> {
    return this.lifecycle.renewJobLeases(this.tx, held, leaseMs);
  }

  settle(settlements: JobSettlement[], facts: { jobId: string; sha256?: string; md5?: string }[]) {
    return this.lifecycle.settleJobs(this.tx, settlements, facts);
  }

  async markStalePendingSent(type: JobType, staleMs: number, limit: number): Promise<JobRecord[]> {
    const rows = await this.db.of(this.tx).query(
      `update processing_job j set updated_at = now()
        where j.id in (select id from processing_job
                        where status = $1 and type = $2 and updated_at < now() - $3 * interval '1 millisecond'
                          and coalesce(run_after, updated_at) < now() - $3 * interval '1 millisecond'
                        order by updated_at limit $4 for update skip locked)
        returning ${JOB_COLUMNS}`,
      [JobStatus.PENDING, type, staleMs, limit],
    );
    return rows.map(toJobRecord);
  }

  async jobsOfSessions(sessionIds: string[]): Promise<SettleJobRow[]> {
    if (sessionIds.length === 0) return [];
    return this.db
      .of(this.tx)
      .query<SettleJobRow>(`select session_id, type, status, required, error from processing_job where session_id = any($1::uuid[]) order by created_at, id`, [
        sessionIds,
      ]);
  }

  moveSessions(ids: string[], to: FileStatus, from: FileStatus[]): Promise<SessionRecord[]> {
    return this.lifecycle.moveSessions(this.tx, ids, to, from);
  }

  failSessions(failures: { id: string; error: string; errorMessage: string }[], from: FileStatus[]): Promise<SessionRecord[]> {
    return this.lifecycle.failSessions(this.tx, failures, from);
  }

  sessionsEnded(sessions: SessionRecord[], event: SessionEventType, out: OutboxRow[]): Promise<void> {
    return this.endings.endedMany(this.tx, sessions, event, out);
  }

  writeOutbox(rows: OutboxRow[]): Promise<void> {
    return this.outbox.write(this.tx, rows);
  }
}

/**
 * JobStore on Postgres. The rule for the job path: the domain defines the port (ports/job-store.port.ts) and its
 * SQL implementation lives beside the use cases that call it, on the SqlDatabase port (libs/database runs the
 * statements on its pool); every status write goes through LifecycleWriter, the one writer of the transition tables.
 */
@Injectable()
export class SqlJobStore implements JobStore {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly endings: SessionEndings,
  ) {}

  transaction<T>(work: (tx: JobStoreTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work(this.of(tx)));
  }

  of(tx: Tx): JobStoreTx {
    return new SqlJobStoreTx(tx, this.db, this.lifecycle, this.outbox, this.endings);
  }
}
