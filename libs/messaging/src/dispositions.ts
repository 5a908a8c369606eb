import { assertNever, DomainError, DomainErrorCode } from '@app/domain';
import { isDatabaseUnavailable } from '@app/database';
import { DeadLetter, RetryLater } from './consumer-errors';

/**
 * What a consumer does with a message whose handling threw: every domain code is mapped on purpose.
 * Unreachable dependencies → requeue; a message that can never succeed → dead letter; anything
 * unexpected is rethrown (the transport retries it a few times, then dead-letters it).
 */
export function toMessageDisposition(e: unknown): Error {
  if (isDatabaseUnavailable(e)) return new RetryLater(`database unavailable: ${(e as Error).message}`);
  if (!(e instanceof DomainError)) return e instanceof Error ? e : new Error(String(e));
  switch (e.code) {
    case DomainErrorCode.MALFORMED_MESSAGE:
    case DomainErrorCode.UNKNOWN_OBJECT:
    case DomainErrorCode.INVALID_INPUT:
    case DomainErrorCode.CONTENT_TYPE_NOT_ALLOWED:
    case DomainErrorCode.FILE_TOO_LARGE:
    case DomainErrorCode.UNAUTHENTICATED:
    case DomainErrorCode.QUOTA_EXCEEDED:
    case DomainErrorCode.SESSION_NOT_FOUND:
    case DomainErrorCode.GROUP_NOT_FOUND:
    case DomainErrorCode.JOB_NOT_FOUND:
    case DomainErrorCode.SESSION_STATE_CONFLICT:
    case DomainErrorCode.UPLOAD_EXPIRED:
    case DomainErrorCode.GROUP_STATE_CONFLICT:
    case DomainErrorCode.JOB_STATE_CONFLICT:
    case DomainErrorCode.OBJECT_NOT_IN_STORAGE:
    case DomainErrorCode.WEBHOOK_NOT_FOUND:
    case DomainErrorCode.WEBHOOK_DELIVERY_NOT_FOUND:
    case DomainErrorCode.WEBHOOK_STATE_CONFLICT:
      return new DeadLetter(`${e.code}: ${e.message}`);
    default:
      return assertNever(e.code);
  }
}
