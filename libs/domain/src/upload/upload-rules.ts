import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { Actor } from '../identity/actor';
import { contentTypeMatches } from '../job/plan/plan-jobs';
import { UploadPolicy } from './upload-policy';

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
