import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { findAccessibleSession } from '../get-upload/get-upload.usecase';
import { THUMBNAILS_PREFIX } from '../object-key';
import { UploadSession } from '../upload-session.entity';
import { SessionEndings } from '../session-endings';

/**
 * DELETE /v1/uploads/:id: removes the stored object (and an unfinished multipart upload, and the session's
 * thumbnails), then the session becomes DELETED with its session.deleted event. Storage first: if the
 * transaction then fails, a retry deletes again (idempotent) and records it. Deleting a deleted upload is a no-op.
 */
@Injectable()
export class DeleteUploadUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly endings: SessionEndings,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(actor: Actor, id: string): Promise<UploadSession> {
    const session = await findAccessibleSession(this.em, actor, id);
    if (session.status === FileStatus.DELETED) return session;
    if (session.uploadId && (session.status === FileStatus.PENDING_UPLOAD || session.status === FileStatus.UPLOADING)) {
      await this.storage.abortMultipartUpload(session.objectKey, session.uploadId);
    }
    await this.storage.delete(session.objectKey);
    await this.storage.deletePrefix(`${THUMBNAILS_PREFIX}${session.id}/`);
    await this.uow.run(async (em) => {
      if (!(await this.lifecycle.markDeleted(em, session.id))) return;
      await this.endings.ended(em, session.id, DomainEventType.SessionDeleted);
    });
    return this.em.findOneOrFail(UploadSession, session.id, { refresh: true });
  }
}
