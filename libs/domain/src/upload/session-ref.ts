import { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { Actor, canAccess } from '../identity/actor';
import { findAccessibleSession } from './get-upload/get-upload.usecase';
import { UploadSession } from './upload-session.entity';

/** A session named by its id (our API) or by the store's upload id and object key (Uppy's S3 routes). */
export type SessionRef = { id: string } | { uploadId: string; key: string };

/** The session the actor may act on, or SESSION_NOT_FOUND (also for other people's, and for a key that does not match). */
export async function resolveSession(em: EntityManager, actor: Actor, ref: SessionRef): Promise<UploadSession> {
  if ('id' in ref) return findAccessibleSession(em, actor, ref.id);
  const session = ref.uploadId.length <= 1024 ? await em.findOne(UploadSession, { uploadId: ref.uploadId }) : null;
  if (!session || session.objectKey !== ref.key || !canAccess(actor, session)) {
    throw new DomainError(DomainErrorCode.SESSION_NOT_FOUND, `Multipart upload ${ref.uploadId} not found`);
  }
  return session;
}
