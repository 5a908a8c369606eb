import { Inject, Injectable } from '@nestjs/common';
import { SessionEventType } from '@app/contracts';
import { GroupProgress } from '../group/group-progress';
import { SESSION_COLUMNS, SessionRecord, toSessionRecord } from '../lifecycle/records';
import { Outbox, OutboxRow } from '../outbox/outbox';
import { SQL_DATABASE, SqlDatabase, Tx } from '../ports/sql.port';

/**
 * What follows a session reaching COMPLETED, FAILED or DELETED, whoever moved it (jobs, abort, delete,
 * expiry, cancel, the store): its domain event and its group's counters, in the caller's transaction.
 * Call it only after the final status write (a LifecycleWriter verb) moved the session, so it runs once.
 */
@Injectable()
export class SessionEndings {
  constructor(
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  /** One session, read back after its status write. */
  async ended(tx: Tx, sessionId: string, event: SessionEventType): Promise<SessionRecord> {
    const [row] = await this.db.of(tx).query(`select ${SESSION_COLUMNS} from upload_session s where s.id = $1`, [sessionId]);
    const session = toSessionRecord(row);
    await this.endedMany(tx, [session], event);
    return session;
  }

  /**
   * Sessions as their status write returned them (no read back). With `out`, the rows they cause are added to
   * it for the caller to write with the rest of its transaction's rows.
   */
  async endedMany(tx: Tx, sessions: SessionRecord[], event: SessionEventType, out?: OutboxRow[]): Promise<void> {
    if (sessions.length === 0) return;
    const rows: OutboxRow[] = out ?? [];
    for (const s of sessions) rows.push(this.outbox.sessionEvent(event, s));
    await this.groups.sessionsFinished(tx, sessions, rows);
    if (!out) await this.outbox.write(tx, rows);
  }
}
