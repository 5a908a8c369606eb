import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, GroupStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { FINAL_FILE_STATUSES, FINAL_GROUP_STATUSES } from '../../lifecycle/transitions';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { UploadSession } from '../../upload/upload-session.entity';
import { findAccessibleGroup } from '../group-access';
import { GroupProgress } from '../group-progress';
import { GroupView, withBytes } from '../group-view';
import { UploadGroup } from '../upload-group.entity';
import { SessionEndings } from '../../upload/session-endings';

/** Error code of the sessions a cancel stopped. WARNING: persisted and published; clients match on it. */
export const CANCELLED_ERROR = 'CANCELLED';

interface Stopped {
  objectKey: string;
  uploadId: string | null;
}

/** How many storage calls the clean-up makes at once. */
const CLEANUP_CONCURRENCY = 8;

/**
 * POST /v1/groups/:id/cancel. In one transaction: the group goes CANCELLED (final: no later event reopens
 * it), every unfinished session goes FAILED with error CANCELLED (its group counts it as failed), and the
 * group.cancelled event is written. Then, after the commit, what those sessions left in storage is removed:
 * multipart uploads aborted, objects deleted. A single PUT that lands later is deleted by storage-events
 * (an object arriving for a FAILED session is removed). Cancelling a cancelled group again changes nothing.
 */
@Injectable()
export class CancelUploadGroupUseCase {
  private readonly logger = new Logger(CancelUploadGroupUseCase.name);

  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly groups: GroupProgress,
    private readonly endings: SessionEndings,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(actor: Actor, id: string): Promise<GroupView> {
    const stopped = await this.uow.run((em) => this.cancel(em, actor, id));
    await this.clearStorage(stopped);
    const [view] = await withBytes(this.em, [await this.em.findOneOrFail(UploadGroup, id, { refresh: true })]);
    return view;
  }

  private async cancel(em: EntityManager, actor: Actor, id: string): Promise<Stopped[]> {
    const group = await findAccessibleGroup(em, actor, id);
    if (group.status === GroupStatus.CANCELLED) return [];
    if (FINAL_GROUP_STATUSES.includes(group.status)) throw this.finished(group);

    // Lock order: the sessions (by id) before the group row, as every path that finishes a session does
    // (status write, then counter), so cancelling never deadlocks with a file finishing at the same time.
    const sessions = await em.find(UploadSession, { groupId: id }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } });
    if (!(await this.lifecycle.moveGroup(em, id, GroupStatus.CANCELLED, [GroupStatus.PENDING, GroupStatus.IN_PROGRESS]))) {
      const now = await em.findOneOrFail(UploadGroup, id, { refresh: true });
      if (now.status === GroupStatus.CANCELLED) return [];
      throw this.finished(now);
    }
    // A session added while we waited for the group row has committed by now; the group takes no more.
    const late = await em.find(
      UploadSession,
      { groupId: id, id: { $nin: sessions.map((s) => s.id) } },
      { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
    );

    const stopped: Stopped[] = [];
    for (const s of [...sessions, ...late]) {
      if (FINAL_FILE_STATUSES.includes(s.status)) continue;
      // Its jobs are left alone (locking them here could deadlock with a processor claiming one): a job of a
      // FAILED session is cancelled when claimed, and one that finishes cannot complete a FAILED session.
      if (!(await this.lifecycle.markFailed(em, s.id, CANCELLED_ERROR, 'the upload group was cancelled'))) continue;
      const failed = await this.endings.ended(em, s.id, DomainEventType.SessionFailed);
      stopped.push({ objectKey: failed.objectKey, uploadId: failed.uploadId });
    }
    await this.groups.publishFinal(em, id, DomainEventType.GroupCancelled);
    return stopped;
  }

  private finished(group: UploadGroup): DomainError {
    return new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${group.id} is already ${group.status} and can no longer be cancelled`);
  }

  /** Best effort after the commit: a failure here leaves garbage in storage, never a wrong state. */
  private async clearStorage(stopped: Stopped[]): Promise<void> {
    const queue = [...stopped];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        try {
          if (s.uploadId) {
            await this.storage.abortMultipartUpload(s.objectKey, s.uploadId);
          }
          await this.storage.delete(s.objectKey);
        } catch (e) {
          this.logger.warn({ msg: 'could not clear a cancelled upload from storage', objectKey: s.objectKey, err: String(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CLEANUP_CONCURRENCY, queue.length) }, worker));
  }
}
