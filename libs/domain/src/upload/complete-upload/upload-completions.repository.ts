import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import type { Actor } from '../../identity/actor';
import type { StoredObject, StoredPart } from '../../ports/object-storage.port';
import { ApplyStorageEventUseCase } from '../../storage-event/apply-storage-event/apply-storage-event.usecase';
import { MultipartParts } from '../multipart/multipart-parts';
import { resolveSession, SessionRef } from '../session-ref';
import { UploadSession } from '../upload-session.entity';
import { UploadSessionRepository } from '../upload-session.repository';
import { UploadCompletions } from './upload-completions.port';

/** UploadCompletions on Postgres, in the request's EntityManager context. */
@Injectable()
export class UploadCompletionsRepository implements UploadCompletions {
  constructor(
    private readonly em: EntityManager,
    private readonly multipart: MultipartParts,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
    private readonly sessions: UploadSessionRepository,
  ) {}

  find(actor: Actor, ref: SessionRef): Promise<UploadSession> {
    return resolveSession(this.em, actor, ref);
  }

  reconcileParts(session: UploadSession, stored: StoredPart[]): Promise<void> {
    return this.multipart.reconcile(this.em, session, stored);
  }

  /** The quota an unsized session reserved settles to its size in the same statement. */
  recordPartPlan(sessionId: string, size: number, totalParts: number): Promise<void> {
    return this.sessions.recordChosenParts(sessionId, size, totalParts);
  }

  async objectSeen(session: UploadSession, object: StoredObject): Promise<UploadSession> {
    await this.applyStorageEvent.execute({
      kind: 'created',
      eventName: 'ObjectCreated:ConfirmedByGateway',
      source: 'api',
      bucket: session.bucket,
      key: session.objectKey,
      size: object.size,
      etag: object.etag,
      sequencer: null,
      eventId: `api:${session.uploadId ?? 'single'}`,
      eventTime: null,
    });
    return this.em.findOneOrFail(UploadSession, session.id, { refresh: true });
  }
}
