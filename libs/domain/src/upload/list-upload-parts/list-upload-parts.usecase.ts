import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { FileStatus, PartStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor } from '../../identity/actor';
import { OBJECT_STORAGE, ObjectStorage, StoredPart } from '../../ports/object-storage.port';
import { FilePart } from '../file-part.entity';
import { MultipartParts, partRange } from '../multipart/multipart-parts';
import { resolveSession, SessionRef } from '../session-ref';
import { UploadSession } from '../upload-session.entity';

export interface UploadParts {
  session: UploadSession;
  /** What the store holds (or, once the upload is complete, what it held). */
  parts: StoredPart[];
  /** Parts 1..totalParts the store does not hold yet; empty when the client decides the part count. */
  missingPartNumbers: number[];
}

/**
 * The parts already in storage (ListParts, every page), reconciled into FilePart rows and the session's
 * counters; the session becomes UPLOADING once the first part is seen. Once the upload is complete the
 * store lists no parts any more: the recorded ones are returned.
 */
@Injectable()
export class ListUploadPartsUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly multipart: MultipartParts,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(actor: Actor, ref: SessionRef): Promise<UploadParts> {
    const session = await resolveSession(this.em, actor, ref);
    if (session.uploadId === null)
      throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id} is a single-PUT upload; it has no parts`);
    if (session.status === FileStatus.FAILED || session.status === FileStatus.DELETED) {
      throw new DomainError(
        DomainErrorCode.SESSION_STATE_CONFLICT,
        `Upload ${session.id} is ${session.status}${session.error ? ` (${session.error})` : ''}; the store holds no parts of it`,
      );
    }
    const stored =
      session.status === FileStatus.PENDING_UPLOAD || session.status === FileStatus.UPLOADING
        ? await this.storage.listParts(session.objectKey, session.uploadId)
        : null;
    if (stored === null) {
      // Completed (or completing): the store has one object now, the rows keep the parts.
      const rows = await this.em.find(FilePart, { sessionId: session.id, status: PartStatus.UPLOADED }, { orderBy: { partNumber: 'asc' } });
      const fresh = await this.em.findOneOrFail(UploadSession, session.id, { refresh: true });
      return {
        session: fresh,
        parts: rows.map((r) => ({ partNumber: r.partNumber, etag: r.etag ?? '', size: r.size, lastModified: r.uploadedAt })),
        missingPartNumbers: [],
      };
    }
    await this.multipart.reconcile(this.em, session, stored);
    const fresh = await this.em.findOneOrFail(UploadSession, session.id, { refresh: true });
    const held = new Set(stored.map((p) => p.partNumber));
    const missing = session.totalParts > 0 ? Array.from({ length: session.totalParts }, (_, i) => i + 1).filter((n) => !held.has(n)) : [];
    return { session: fresh, parts: stored.filter((p) => p.partNumber <= partRange(session)), missingPartNumbers: missing };
  }
}
