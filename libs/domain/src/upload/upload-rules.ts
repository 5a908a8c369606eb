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

/**
 * The most bytes an upload whose client declares no size (Uppy's S3 routes) may store: MAX_FILE_SIZE, and for an
 * owner with a quota no more than the whole quota. An owner's such upload reserves exactly this much of its quota
 * when it is created (StorageQuota.reserve) and settles to the stored size when that is known; the POST form signs
 * it as its length range and multipart part URLs are signed only for the part numbers it allows (`signableParts`).
 */
export function unsizedCeiling(policy: Pick<UploadPolicy, 'maxFileSize' | 'userQuotaBytes'>, userId: string | null): number {
  return userId !== null && policy.userQuotaBytes > 0 ? Math.min(policy.maxFileSize, policy.userQuotaBytes) : policy.maxFileSize;
}
