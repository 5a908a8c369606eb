import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { resolveSession, SessionRef } from '../session-ref';
import { UploadSession } from '../upload-session.entity';
import { AbortUploadCommand } from './abort-upload.command';
import { SessionEndings } from '../session-endings';

export const ABORTED = 'ABORTED';

/**
 * `multipartUploadAbortSchema`: aborts the upload in the store (no parts left behind: ListMultipartUploads
 * no longer shows it), then the session becomes FAILED with error ABORTED and its unfinished parts FAILED,
 * with its session.failed event. A single-PUT session that has not arrived can be abandoned the same way
 * (an object arriving later is removed). Idempotent: aborting an aborted upload returns it as it is.
 */
@Injectable()
export class AbortUploadUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly endings: SessionEndings,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(actor: Actor, ref: SessionRef, input: unknown): Promise<UploadSession> {
    const cmd = validateCommand(AbortUploadCommand, input ?? {});
    const session = await resolveSession(this.em, actor, ref);
    if (session.status === FileStatus.FAILED && session.error === ABORTED) {
      if (session.uploadId) await this.storage.abortMultipartUpload(session.objectKey, session.uploadId);
      return session;
    }
    if (session.status !== FileStatus.PENDING_UPLOAD && session.status !== FileStatus.UPLOADING) {
      throw new DomainError(
        DomainErrorCode.SESSION_STATE_CONFLICT,
        `Upload ${session.id} is ${session.status}${session.error ? ` (${session.error})` : ''} and cannot be aborted${session.status === FileStatus.FAILED ? '' : '; DELETE removes a stored file'}`,
      );
    }
    // Store first: if the transaction then fails, a retry aborts again (idempotent) and records it.
    if (session.uploadId) await this.storage.abortMultipartUpload(session.objectKey, session.uploadId);
    await this.uow.run(async (em) => {
      if (!(await this.lifecycle.markAborted(em, session.id, cmd.reason ?? 'aborted by the client'))) return;
      await this.lifecycle.failUnfinishedParts(em, session.id);
      await this.endings.ended(em, session.id, DomainEventType.SessionFailed);
    });
    const after = await this.em.findOneOrFail(UploadSession, session.id, { refresh: true });
    // Lost a race to a completion: say so rather than pretend it was aborted.
    if (after.status !== FileStatus.FAILED) {
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id} became ${after.status} and cannot be aborted`);
    }
    return after;
  }
}
