import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { SessionRecord } from '../lifecycle/records';
import { Outbox, OutboxRow } from '../outbox/outbox';
import { JOB_STORE, JobStore, JobStoreTx } from '../ports/job-store.port';
import { Tx } from '../ports/sql.port';
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
    private readonly outbox: Outbox,
    @Inject(JOB_STORE) private readonly store: JobStore,
  ) {}

  /** In a use case's transaction: the rows it causes are written with it (into `out` when given). */
  async settle(tx: Tx, sessions: SessionRecord[], out?: OutboxRow[]): Promise<void> {
    const stx = this.store.of(tx);
    const rows: OutboxRow[] = out ?? [];
    await this.settleIn(stx, sessions, rows);
    if (!out) await stx.writeOutbox(rows);
  }

  /** In a job-path transaction: the rows it causes go into `out`, for the caller to write. */
  async settleIn(stx: JobStoreTx, sessions: SessionRecord[], out: OutboxRow[]): Promise<void> {
    const open = sessions.filter((s) => SETTLING.includes(s.status));
    if (open.length === 0) return;
    const jobs = await stx.jobsOfSessions(open.map((s) => s.id));
    const bySession = new Map<string, typeof jobs>();
    for (const j of jobs) bySession.set(j.session_id, [...(bySession.get(j.session_id) ?? []), j]);

    const complete: SessionRecord[] = [];
    const fail: { id: string; error: string; errorMessage: string }[] = [];
    for (const s of open) {
      const decision = decideSessionOutcome(bySession.get(s.id) ?? []);
      if (decision.kind === 'complete') complete.push(s);
      if (decision.kind === 'fail') fail.push({ id: s.id, error: `${decision.failedJobType}_FAILED`, errorMessage: decision.error });
    }
    // Every job final before any ran (all cancelled by hand): the session passes through PROCESSING.
    const notStarted = complete.filter((s) => s.status === FileStatus.UPLOADED).map((s) => s.id);
    if (notStarted.length > 0) {
      for (const s of await stx.moveSessions(notStarted, FileStatus.PROCESSING, [FileStatus.UPLOADED])) {
        out.push(this.outbox.sessionEvent(DomainEventType.SessionProcessing, s));
      }
    }
    const completed =
      complete.length > 0
        ? await stx.moveSessions(
            complete.map((s) => s.id),
            FileStatus.COMPLETED,
            [FileStatus.PROCESSING],
          )
        : [];
    const failed = fail.length > 0 ? await stx.failSessions(fail, [...SETTLING]) : [];
    if (completed.length > 0) await stx.sessionsEnded(completed, DomainEventType.SessionCompleted, out);
    if (failed.length > 0) await stx.sessionsEnded(failed, DomainEventType.SessionFailed, out);
  }
}
