import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus, GroupStatus } from '@app/contracts';
import { LifecycleWriter } from '../lifecycle/lifecycle-writer';
import { decideGroupOutcome } from '../job/plan/outcomes';
import { Outbox } from '../outbox/outbox';
import { UploadSession } from '../upload/upload-session.entity';
import { UploadGroup } from './upload-group.entity';

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
  async sessionUploaded(em: EntityManager, session: UploadSession): Promise<void> {
    if (session.groupId) await this.lifecycle.moveGroup(em, session.groupId, GroupStatus.IN_PROGRESS, [GroupStatus.PENDING]);
  }

  /** Call once per session reaching COMPLETED or FAILED, in the transaction that made it so. */
  async sessionFinished(em: EntityManager, session: UploadSession, outcome: FileStatus.COMPLETED | FileStatus.FAILED): Promise<void> {
    if (!session.groupId) return;
    const column = outcome === FileStatus.COMPLETED ? 'completed_files' : 'failed_files';
    const rows: { total_files: number; completed_files: number; failed_files: number }[] = await em.execute(
      `update upload_group set ${column} = ${column} + 1, updated_at = now() where id = ? returning total_files, completed_files, failed_files`,
      [session.groupId],
    );
    if (rows.length === 0) return;
    const counts = { totalFiles: rows[0].total_files, completedFiles: rows[0].completed_files, failedFiles: rows[0].failed_files };
    const decision = decideGroupOutcome(counts);
    if (decision === 'wait') return;
    const to = decision === 'complete' ? GroupStatus.COMPLETED : GroupStatus.FAILED;
    if (!(await this.lifecycle.moveGroup(em, session.groupId, to, [GroupStatus.PENDING, GroupStatus.IN_PROGRESS]))) return;
    const group = await em.findOneOrFail(UploadGroup, session.groupId, { refresh: true });
    const sessions = await em.find(UploadSession, { groupId: group.id }, { orderBy: { createdAt: 'asc' }, refresh: true });
    this.outbox.groupEvent(em, to === GroupStatus.COMPLETED ? DomainEventType.GroupCompleted : DomainEventType.GroupFailed, group, sessions);
  }
}
