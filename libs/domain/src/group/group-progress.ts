import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus, GroupStatus } from '@app/contracts';
import { LifecycleWriter } from '../lifecycle/lifecycle-writer';
import { GROUP_COLUMNS, SessionRecord, toGroupRecord } from '../lifecycle/records';
import { decideGroupOutcome } from '../job/plan/outcomes';
import { Outbox, OutboxRow } from '../outbox/outbox';
import { SQL_DATABASE, SqlDatabase, Tx } from '../ports/sql.port';

type GroupFinalEvent = typeof DomainEventType.GroupCompleted | typeof DomainEventType.GroupFailed | typeof DomainEventType.GroupCancelled;

/**
 * What follows a session's progress for its group. Counters move by atomic SQL (`SET n = n + k`), never
 * read-modify-write, so concurrent consumers on several processes keep them exact; the final group
 * transition is a compare-and-set, so its event is written exactly once.
 *
 * Methods that take `out` add the rows they cause to it (the caller writes a transaction's rows at once);
 * without it they write them themselves.
 */
@Injectable()
export class GroupProgress {
  constructor(
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
  ) {}

  /** The group's first file has arrived: PENDING → IN_PROGRESS (no-op when already past it). */
  async sessionUploaded(tx: Tx, session: Pick<SessionRecord, 'groupId'>): Promise<void> {
    await this.sessionsUploaded(tx, [session]);
  }

  async sessionsUploaded(tx: Tx, sessions: Pick<SessionRecord, 'groupId'>[]): Promise<void> {
    const groups = sessions.map((s) => s.groupId).filter((g): g is string => g !== null);
    await this.lifecycle.moveGroups(tx, groups, GroupStatus.IN_PROGRESS, [GroupStatus.PENDING]);
  }

  async sessionFinished(tx: Tx, session: Pick<SessionRecord, 'id' | 'groupId'>): Promise<void> {
    await this.sessionsFinished(tx, [session]);
  }

  /**
   * Counts sessions that reached a final status (COMPLETED counts as completed; FAILED, and DELETED before
   * finishing, as failed) and, when they were a group's last files, moves the group to COMPLETED or FAILED
   * with its event. Call it in the transaction whose compare-and-set made the sessions final (every path:
   * storage events, jobs, abort, expiry, cancel).
   *
   * Exactly once per session: one statement both flips each session's `counted_in_group` marker and moves the
   * counters, so a replay, a second caller or a retried transaction counts nothing more. The session rows are
   * already locked by the caller's status write; the group rows are locked after them, in id order, so
   * concurrent finishers cannot deadlock.
   */
  async sessionsFinished(tx: Tx, sessions: Pick<SessionRecord, 'id' | 'groupId'>[], out?: OutboxRow[]): Promise<void> {
    const grouped = sessions.filter((s) => s.groupId !== null);
    if (grouped.length === 0) return;
    const sql = this.db.of(tx);
    const groupIds = [...new Set(grouped.map((s) => s.groupId!))].sort();
    if (groupIds.length > 1) await sql.query(`select id from upload_group where id = any($1::uuid[]) order by id for update`, [groupIds]);
    const rows = await sql.query(
      `with counted as (
         update upload_session set counted_in_group = true
          where id = any($1::uuid[]) and group_id is not null and not counted_in_group and status = any($2::text[])
          returning group_id, status
       ), per_group as (
         select group_id, count(*) filter (where status = $3) as completed, count(*) filter (where status <> $3) as failed from counted group by group_id
       )
       update upload_group g
          set completed_files = g.completed_files + p.completed, failed_files = g.failed_files + p.failed, updated_at = now()
         from per_group p
        where g.id = p.group_id
       returning ${GROUP_COLUMNS}`,
      [grouped.map((s) => s.id), [FileStatus.COMPLETED, FileStatus.FAILED, FileStatus.DELETED], FileStatus.COMPLETED],
    );
    const rowsOut: OutboxRow[] = out ?? [];
    for (const g of rows.map(toGroupRecord)) {
      const decision = decideGroupOutcome(g);
      if (decision === 'wait') continue;
      // A CANCELLED group stays so: these compare-and-sets only leave PENDING or IN_PROGRESS.
      if (decision === 'complete') {
        // The lifecycle goes through IN_PROGRESS; a group whose start was never recorded takes that step now.
        await this.lifecycle.moveGroups(tx, [g.id], GroupStatus.IN_PROGRESS, [GroupStatus.PENDING]);
        if ((await this.lifecycle.moveGroups(tx, [g.id], GroupStatus.COMPLETED, [GroupStatus.IN_PROGRESS])).length === 1) {
          rowsOut.push(await this.finalEvent(tx, g.id, DomainEventType.GroupCompleted));
        }
      } else if ((await this.lifecycle.moveGroups(tx, [g.id], GroupStatus.FAILED, [GroupStatus.PENDING, GroupStatus.IN_PROGRESS])).length === 1) {
        rowsOut.push(await this.finalEvent(tx, g.id, DomainEventType.GroupFailed));
      }
    }
    if (!out) await this.outbox.write(tx, rowsOut);
  }

  /** Writes the group's final event (its sessions and their object keys included) into the outbox. */
  async publishFinal(tx: Tx, groupId: string, type: GroupFinalEvent): Promise<void> {
    await this.outbox.write(tx, [await this.finalEvent(tx, groupId, type)]);
  }

  private async finalEvent(tx: Tx, groupId: string, type: GroupFinalEvent): Promise<OutboxRow> {
    const sql = this.db.of(tx);
    const [group] = await sql.query(`select ${GROUP_COLUMNS} from upload_group g where g.id = $1`, [groupId]);
    const sessions = await sql.query<{ id: string; object_key: string; status: FileStatus }>(
      `select id, object_key, status from upload_session where group_id = $1 order by created_at, id`,
      [groupId],
    );
    return this.outbox.groupEvent(
      type,
      toGroupRecord(group),
      sessions.map((s) => ({ id: s.id, objectKey: s.object_key, status: s.status })),
    );
  }
}
