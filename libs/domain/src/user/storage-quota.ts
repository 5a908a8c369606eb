import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import type { Sql } from '../ports/sql.port';
import { UPLOAD_POLICY, UploadPolicy } from '../upload/upload-policy';
import { unsizedCeiling } from '../upload/upload-rules';
import type { UploadSession } from '../upload/upload-session.entity';

/**
 * The per-user storage quota (USER_QUOTA_BYTES), kept on the User row (`app_user.reserved_bytes`) with atomic
 * SQL so concurrent creations cannot overshoot it, whichever gateway replica serves them. A session reserves
 * its declared size in the very statement that inserts it (UploadSessionRepository.insertNew, the only way
 * new sessions are stored); it gives the bytes back once, when it becomes FAILED or DELETED (`releaseQuota`,
 * called by LifecycleWriter in the transaction of that status change).
 * Usage is counted even when the quota is unlimited, so turning a quota on later starts from the truth.
 * Anonymous sessions hold no quota: anonymous uploads are bounded by the size limit and the per-IP rate limit.
 */
@Injectable()
export class StorageQuota {
  constructor(@Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy) {}

  /** Bytes per user; 0 = unlimited. */
  get limit(): number {
    return this.policy.userQuotaBytes;
  }

  /**
   * The bytes new sessions of one owner reserve, each session's `quotaBytes` set to its share. A session whose
   * size nobody declared (Uppy's S3 routes) reserves the most it may store (`unsizedCeiling`); that settles to the
   * stored size when it becomes known (`settleQuota`), and is given back whole if it fails or is aborted.
   * Throws QUOTA_EXCEEDED at once when they could not fit even in an empty quota.
   */
  reserve(sessions: UploadSession[]): number {
    let bytes = 0;
    for (const s of sessions) {
      s.quotaBytes = s.userId === null ? 0 : (s.size ?? unsizedCeiling(this.policy, s.userId));
      bytes += s.quotaBytes;
    }
    if (this.limit > 0 && bytes > this.limit) throw this.exceeded(bytes, null);
    return bytes;
  }

  exceeded(bytes: number, held: number | null): DomainError {
    const limit = this.limit;
    const usage = held === null ? '' : `; ${held} of them are held by your unfinished and stored uploads`;
    return new DomainError(
      DomainErrorCode.QUOTA_EXCEEDED,
      `storage quota exceeded: this upload needs ${bytes} bytes and your quota is ${limit} bytes${usage}`,
      [{ field: 'size', message: `exceeds the remaining storage quota (quota ${limit} bytes)` }],
    );
  }
}

/**
 * Gives sessions' reserved bytes back to their owners, at most once (each session's `quota_bytes` goes to 0 in
 * the same statement). LifecycleWriter calls it when sessions become FAILED or DELETED, in the same transaction
 * (their rows are already locked by that status write); a second call, or a FAILED → DELETED move, releases nothing.
 */
export async function releaseQuota(sql: Sql, sessionIds: string[]): Promise<void> {
  await sql.query(
    `with released as (
       update upload_session s set quota_bytes = 0
         from (select id, user_id, quota_bytes from upload_session where id = any($1::uuid[]) and quota_bytes > 0 order by id for update) old
        where s.id = old.id
        returning old.user_id, old.quota_bytes
     ), per_user as (
       select user_id, sum(quota_bytes) as bytes from released where user_id is not null group by user_id
     )
     update app_user u set reserved_bytes = greatest(0, u.reserved_bytes - p.bytes) from per_user p where u.id = p.user_id`,
    [sessionIds],
  );
}

/**
 * Sessions that reserved more than they turned out to store (a size nobody declared, reserved at its ceiling) keep
 * only their stored size; the rest goes back to their owners, once (`quota_bytes` becomes `size` in the same
 * statement). Sessions already FAILED or DELETED hold 0 (released) and are left alone.
 */
export async function settleQuota(sql: Sql, sessionIds: string[]): Promise<void> {
  await sql.query(
    `with settled as (
       update upload_session s set quota_bytes = old.size
         from (select id, user_id, quota_bytes, size from upload_session
                where id = any($1::uuid[]) and size is not null and quota_bytes > size order by id for update) old
        where s.id = old.id
        returning old.user_id, old.quota_bytes - old.size as bytes
     ), per_user as (
       select user_id, sum(bytes) as bytes from settled where user_id is not null group by user_id
     )
     update app_user u set reserved_bytes = greatest(0, u.reserved_bytes - p.bytes) from per_user p where u.id = p.user_id`,
    [sessionIds],
  );
}
