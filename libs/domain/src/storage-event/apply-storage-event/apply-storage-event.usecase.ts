import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { GroupProgress } from '../../group/group-progress';
import { ProcessingJob } from '../../job/processing-job.entity';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { sessionIdFromKey, THUMBNAILS_PREFIX } from '../../upload/object-key';
import { UploadSession } from '../../upload/upload-session.entity';
import { ProcessedStorageEvent } from '../processed-storage-event.entity';
import { StorageObjectEvent, storageEventIdentity } from '../storage-object-event';
import { SessionEndings } from '../../upload/session-endings';

export type StorageEventOutcome =
  | 'uploaded'
  | 'size-mismatch'
  | 'deleted'
  | 'duplicate'
  | 'already-applied'
  | 'late-object-removed'
  | 'stale-removal'
  | 'ignored';

/**
 * Moves a session by what the store says happened to its object. Notifications are at-least-once and
 * unordered: each is applied at most once (by identity), and a late or reordered one never moves a
 * session backwards. The session change, its jobs and its messages commit together.
 */
@Injectable()
export class ApplyStorageEventUseCase {
  private readonly logger = new Logger(ApplyStorageEventUseCase.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly groups: GroupProgress,
    private readonly endings: SessionEndings,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(event: StorageObjectEvent): Promise<StorageEventOutcome> {
    if (event.key.startsWith(THUMBNAILS_PREFIX)) return 'ignored';
    return this.uow.run(async (em) => {
      const fresh = await em.execute(`insert into processed_storage_event (identity, processed_at) values (?, now()) on conflict do nothing returning identity`, [
        storageEventIdentity(event),
      ]);
      if (fresh.length === 0) return 'duplicate';

      const session = await this.findSession(em, event);
      if (!session) {
        // The store tells of removals of keys that never existed; only an unknown creation is worth a dead letter.
        if (event.kind === 'removed') return 'ignored';
        throw new DomainError(DomainErrorCode.UNKNOWN_OBJECT, `No upload session for object ${event.bucket}/${event.key}`);
      }
      return event.kind === 'created' ? this.objectCreated(em, session, event) : this.objectRemoved(em, session);
    });
  }

  private async findSession(em: EntityManager, event: StorageObjectEvent): Promise<UploadSession | null> {
    const session = await em.findOne(UploadSession, { objectKey: event.key });
    if (session) return session.bucket === event.bucket ? session : null;
    // A store that mangles a key still keeps our session id prefix.
    const id = sessionIdFromKey(event.key);
    const byId = id ? await em.findOne(UploadSession, id) : null;
    return byId && byId.bucket === event.bucket ? byId : null;
  }

  private async objectCreated(em: EntityManager, session: UploadSession, event: StorageObjectEvent): Promise<StorageEventOutcome> {
    switch (session.status) {
      case FileStatus.UPLOADED:
      case FileStatus.PROCESSING:
      case FileStatus.COMPLETED:
        return 'already-applied';
      case FileStatus.FAILED:
      case FileStatus.DELETED:
        // The object arrived after the session ended (expired, aborted, cancelled, deleted): it must not stay.
        await this.storage.delete(session.objectKey);
        return 'late-object-removed';
      case FileStatus.PENDING_UPLOAD:
      case FileStatus.UPLOADING:
        break;
    }

    const size = event.size ?? (await this.storage.head(session.objectKey))?.size ?? null;
    // A session without a declared size (Uppy's form POST) takes the stored one: the store enforced the policy's range.
    const expected = session.size ?? (size !== null && size > 0 ? size : -1);
    if (size !== expected) {
      if (!(await this.lifecycle.markFailed(em, session.id, 'SIZE_MISMATCH', `stored ${size ?? 'no'} bytes, declared ${session.size}`))) return 'already-applied';
      // Deleted before commit: a replay after a failed commit decides the same and deletes again (idempotent).
      await this.storage.delete(session.objectKey);
      await this.endings.ended(em, session.id, DomainEventType.SessionFailed);
      return 'size-mismatch';
    }

    if (!(await this.lifecycle.markUploaded(em, session.id, { etag: event.etag, ...(session.size === null ? { size: expected } : {}) }))) return 'already-applied';
    const uploaded = await em.findOneOrFail(UploadSession, session.id, { refresh: true });
    for (const spec of uploaded.jobPlan) {
      const job = new ProcessingJob({ sessionId: uploaded.id, ...spec });
      em.persist(job);
      this.outbox.runJob(em, job);
    }
    this.outbox.sessionEvent(em, DomainEventType.SessionUploaded, uploaded);
    await this.groups.sessionUploaded(em, uploaded);
    this.logger.log({ msg: 'session uploaded', sessionId: uploaded.id, jobs: uploaded.jobPlan.map((j) => j.type) });
    return 'uploaded';
  }

  private async objectRemoved(em: EntityManager, session: UploadSession): Promise<StorageEventOutcome> {
    if (session.status !== FileStatus.UPLOADED && session.status !== FileStatus.PROCESSING && session.status !== FileStatus.COMPLETED) {
      // Removal before creation, or of an object we removed ourselves: nothing to undo.
      return 'ignored';
    }
    // Removal and a later re-creation can arrive in either order: the store decides.
    if (await this.storage.head(session.objectKey)) return 'stale-removal';
    if (!(await this.lifecycle.markDeleted(em, session.id))) return 'already-applied';
    // Deleted before it finished: its group counts it as failed (a COMPLETED one was counted already).
    await this.endings.ended(em, session.id, DomainEventType.SessionDeleted);
    return 'deleted';
  }
}
