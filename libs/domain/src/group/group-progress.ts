import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus, GroupStatus } from '@app/contracts';
import { LifecycleWriter } from '../lifecycle/lifecycle-writer';
import { decideGroupOutcome } from '../job/plan/outcomes';
import { Outbox } from '../outbox/outbox';
import { UploadSession } from '../upload/upload-session.entity';
import { UploadGroup } from './upload-group.entity';

interface CountedRow {
  total_files: number;
  completed_files: number;
  failed_files: number;
}

/**
 * What follows a session's progress for its group. Counters move by atomic SQL (`SET n = n + 1`), never
 * read-modify-write, so concurrent consumers on several processes keep them exact; the final group
 * transition is a compare-and-set, so its event is written exactly once.
 */
@Injectable()
export class GroupProgress {
  constructor(
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
  ) {}

  /** The group's first file has arrived: PENDING → IN_PROGRESS (no-op when already past it). */
  async sessionUploaded(em: EntityManager, session: Pick<UploadSession, 'groupId'>): Promise<void> {
    if (session.groupId) await this.lifecycle.moveGroup(em, session.groupId, GroupStatus.IN_PROGRESS, [GroupStatus.PENDING]);
  }

  /**
   * Counts a session that reached a final status (COMPLETED counts as completed; FAILED, and DELETED before
   * finishing, as failed) and, when it was the group's last file, moves the group to COMPLETED or FAILED
   * with its event. Call it in the transaction whose compare-and-set made the session final (every path:
   * storage events, jobs, abort, expiry, cancel).
   *
   * Exactly once per session: one statement both flips the session's `counted_in_group` marker and moves
   * the counter, so a replay, a second caller or a retried transaction counts nothing more. The session row
   * is already locked by the caller's status write, and the group row is then locked by the counter update:
   * every path takes session before group, never the other way round, so concurrent finishers cannot deadlock.
   */
  async sessionFinished(em: EntityManager, session: Pick<UploadSession, 'id' | 'groupId'>): Promise<void> {
    if (!session.groupId) return;
    const rows: CountedRow[] = await em.execute(
      `with counted as (
         update upload_session set counted_in_group = true
          where id = ? and group_id = ? and not counted_in_group and status in (?, ?, ?)
          returning status
       )
       update upload_group g
          set completed_files = g.completed_files + (case when counted.status = ? then 1 else 0 end),
              failed_files = g.failed_files + (case when counted.status = ? then 0 else 1 end),
              updated_at = now()
         from counted
        where g.id = ?
       returning g.total_files, g.completed_files, g.failed_files`,
      [
        session.id,
        session.groupId,
        FileStatus.COMPLETED,
        FileStatus.FAILED,
        FileStatus.DELETED,
        FileStatus.COMPLETED,
        FileStatus.COMPLETED,
        session.groupId,
      ],
    );
    if (rows.length === 0) return; // not final yet, or already counted
    const decision = decideGroupOutcome({ totalFiles: rows[0].total_files, completedFiles: rows[0].completed_files, failedFiles: rows[0].failed_files });
    if (decision === 'wait') return;
    // A CANCELLED group stays so: these compare-and-sets only leave PENDING or IN_PROGRESS.
    if (decision === 'complete') {
      // The lifecycle goes through IN_PROGRESS; a group whose start was never recorded takes that step now.
      await this.sessionUploaded(em, session);
      if (!(await this.lifecycle.moveGroup(em, session.groupId, GroupStatus.COMPLETED, [GroupStatus.IN_PROGRESS]))) return;
      await this.publishFinal(em, session.groupId, DomainEventType.GroupCompleted);
    } else {
      if (!(await this.lifecycle.moveGroup(em, session.groupId, GroupStatus.FAILED, [GroupStatus.PENDING, GroupStatus.IN_PROGRESS]))) return;
      await this.publishFinal(em, session.groupId, DomainEventType.GroupFailed);
    }
  }

  /** Writes the group's final event (its sessions and their object keys included) into the outbox. */
  async publishFinal(
    em: EntityManager,
    groupId: string,
    type: typeof DomainEventType.GroupCompleted | typeof DomainEventType.GroupFailed | typeof DomainEventType.GroupCancelled,
  ): Promise<void> {
    const group = await em.findOneOrFail(UploadGroup, groupId, { refresh: true });
    const sessions = await em.find(UploadSession, { groupId }, { orderBy: { createdAt: 'asc', id: 'asc' }, refresh: true });
    this.outbox.groupEvent(em, type, group, sessions);
  }
}
