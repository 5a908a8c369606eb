import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus, JobStatus } from '@app/contracts';
import { LifecycleWriter } from '../lifecycle/lifecycle-writer';
import { SessionRecord } from '../lifecycle/records';
import { Outbox, OutboxRow } from '../outbox/outbox';
import { SQL_DATABASE, SqlDatabase, Tx } from '../ports/sql.port';
import { SessionEndings } from '../upload/session-endings';
import { decideSessionOutcome } from './plan/outcomes';

/** Sessions whose outcome their jobs decide: a settled session never moves again. */
const SETTLING: readonly FileStatus[] = [FileStatus.UPLOADED, FileStatus.PROCESSING];

/**
 * What follows a session's jobs: COMPLETED, FAILED, or nothing yet. Call inside the transaction that made jobs
 * final, with the sessions' rows locked (so concurrent jobs of a session see each other's outcome): one
 * statement reads every job of the given sessions, the decision is the pure `decideSessionOutcome`, and the
 * sessions move by compare-and-set. Only PROCESSING (or UPLOADED) sessions move: a job added or retried by hand
 * on a COMPLETED session records its own outcome and events without touching the session.
 */
@Injectable()
export class SessionSettler {
  constructor(
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly endings: SessionEndings,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  async settle(tx: Tx, sessions: SessionRecord[], out?: OutboxRow[]): Promise<void> {
    const open = sessions.filter((s) => SETTLING.includes(s.status));
    if (open.length === 0) return;
    const jobs = await this.db.of(tx).query<{ session_id: string; type: string; status: JobStatus; required: boolean; error: string | null }>(
      `select session_id, type, status, required, error from processing_job where session_id = any($1::uuid[]) order by created_at, id`,
      [open.map((s) => s.id)],
    );
    const bySession = new Map<string, typeof jobs>();
    for (const j of jobs) bySession.set(j.session_id, [...(bySession.get(j.session_id) ?? []), j]);

    const complete: SessionRecord[] = [];
    const fail: { id: string; error: string; errorMessage: string }[] = [];
    for (const s of open) {
      const decision = decideSessionOutcome(bySession.get(s.id) ?? []);
      if (decision.kind === 'complete') complete.push(s);
      if (decision.kind === 'fail') fail.push({ id: s.id, error: `${decision.failedJobType}_FAILED`, errorMessage: decision.error });
    }
    const rows: OutboxRow[] = out ?? [];
    // Every job final before any ran (all cancelled by hand): the session passes through PROCESSING.
    const notStarted = complete.filter((s) => s.status === FileStatus.UPLOADED).map((s) => s.id);
    for (const s of await this.lifecycle.moveSessions(tx, notStarted, FileStatus.PROCESSING, [FileStatus.UPLOADED])) {
      rows.push(this.outbox.sessionEvent(DomainEventType.SessionProcessing, s));
    }
    const completed = await this.lifecycle.moveSessions(tx, complete.map((s) => s.id), FileStatus.COMPLETED, [FileStatus.PROCESSING]);
    const failed = await this.lifecycle.failSessions(tx, fail, [...SETTLING]);
    await this.endings.endedMany(tx, completed, DomainEventType.SessionCompleted, rows);
    await this.endings.endedMany(tx, failed, DomainEventType.SessionFailed, rows);
    if (!out) await this.outbox.write(tx, rows);
  }
}
