import { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { UploadGroup } from '../group/upload-group.entity';
import { Actor, canAccess } from '../identity/actor';
import { contentTypeMatches } from '../job/plan/plan-jobs';
import { FINAL_GROUP_STATUSES } from '../lifecycle/transitions';
import { UploadPolicy } from './upload-policy';
import { UploadSession } from './upload-session.entity';

/** Rules every new upload obeys, whichever route creates it. */
export function assertMayUpload(actor: Actor, policy: UploadPolicy): void {
  if (actor.userId === null && !actor.isAdmin && !policy.anonymousUploads) {
    throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Anonymous uploads are disabled: send Authorization: Bearer <token>');
  }
}

export function assertWithinPolicy(policy: UploadPolicy, file: { size?: number | null; contentType: string }): void {
  if (file.size !== undefined && file.size !== null && file.size > policy.maxFileSize) {
    throw new DomainError(DomainErrorCode.FILE_TOO_LARGE, `size: at most ${policy.maxFileSize} bytes are allowed`, [
      { field: 'size', message: `must not exceed ${policy.maxFileSize} bytes` },
    ]);
  }
  if (!policy.allowedContentTypes.some((p) => contentTypeMatches(p, file.contentType))) {
    throw new DomainError(DomainErrorCode.CONTENT_TYPE_NOT_ALLOWED, `contentType: ${file.contentType} is not allowed`, [
      { field: 'contentType', message: `must be one of ${policy.allowedContentTypes.join(', ')}` },
    ]);
  }
}

export async function assertGroupTakesFile(em: EntityManager, actor: Actor, groupId: string): Promise<void> {
  const group = await em.findOne(UploadGroup, groupId);
  if (!group || !canAccess(actor, group)) throw new DomainError(DomainErrorCode.GROUP_NOT_FOUND, `Group ${groupId} not found`);
  if (FINAL_GROUP_STATUSES.includes(group.status)) {
    throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} is ${group.status} and takes no more files`);
  }
  const files = await em.count(UploadSession, { groupId });
  if (files >= group.totalFiles) throw new DomainError(DomainErrorCode.GROUP_STATE_CONFLICT, `Group ${groupId} already has its ${group.totalFiles} files`);
}
