import { EventArgs, EventSubscriber } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import type { Sql } from '../ports/sql.port';
import { UPLOAD_POLICY, UploadPolicy } from '../upload/upload-policy';
import { UploadSession } from '../upload/upload-session.entity';

/**
 * The per-user storage quota (USER_QUOTA_BYTES), kept on the User row with atomic SQL so concurrent
 * creations cannot overshoot it. A session reserves its declared size when it is created, in the
 * transaction that inserts it; it gives the bytes back once, when it becomes FAILED or DELETED
 * (`releaseQuota`, called by LifecycleWriter in the transaction of that status change).
 * Usage is counted even when the quota is unlimited, so turning a quota on later starts from the truth.
 * Anonymous sessions hold no quota: anonymous uploads are bounded by the size limit and the per-IP rate limit.
 *
 * The reservation is not something a use case can forget: this is a MikroORM subscriber, and every insert
 * of an UploadSession in an app that loads UploadsModule (the gateway) runs `reserve` inside the flush's
 * transaction — POST /v1/uploads, groups with files, Uppy's routes, and whatever creates sessions later.
 * QUOTA_EXCEEDED thrown there rolls the whole flush back.
 */
@Injectable()
export class StorageQuota implements EventSubscriber<UploadSession> {
  /** Event managers that already charge sessions: a second provider instance must not charge them twice. */
  private static readonly wired = new WeakSet<object>();

  constructor(
    @Inject(UPLOAD_POLICY) private readonly policy: UploadPolicy,
    em: EntityManager,
  ) {
    const events = em.getEventManager();
    if (StorageQuota.wired.has(events)) return;
    StorageQuota.wired.add(events);
    events.registerSubscriber(this);
  }

  getSubscribedEntities() {
    return [UploadSession];
  }

  async beforeCreate(args: EventArgs<UploadSession>): Promise<void> {
    await this.reserve(args.em as EntityManager, args.entity);
  }

  /** Charges a new session to its owner, or throws QUOTA_EXCEEDED. Runs inside the transaction that inserts it. */
  async reserve(em: EntityManager, session: UploadSession): Promise<void> {
    // Sessions whose size nobody declared (Uppy's S3 routes) are charged nothing here: a known gap, see docs/security.md.
    if (session.userId === null || session.size === null) return;
    const limit = this.policy.userQuotaBytes;
    if (limit > 0 && session.size > limit) throw this.exceeded(session.size, null, limit);
    // Upsert: the User row normally exists (AuthGuard), but the reservation must not depend on that.
    const rows: unknown[] = await em.execute(
      `insert into app_user (id, created_at, reserved_bytes) values (?, now(), ?)
       on conflict (id) do update set reserved_bytes = app_user.reserved_bytes + excluded.reserved_bytes
       where ? = 0 or app_user.reserved_bytes + excluded.reserved_bytes <= ?
       returning reserved_bytes`,
      [session.userId, session.size, limit, limit],
    );
    if (rows.length === 0) {
      const [held] = await em.execute<{ reserved_bytes: string }[]>('select reserved_bytes from app_user where id = ?', [session.userId]);
      throw this.exceeded(session.size, held ? Number(held.reserved_bytes) : null, limit);
    }
    session.quotaBytes = session.size;
  }

  private exceeded(size: number, held: number | null, limit: number): DomainError {
    const usage = held === null ? '' : `; ${held} of them are held by your unfinished and stored uploads`;
    return new DomainError(DomainErrorCode.QUOTA_EXCEEDED, `storage quota exceeded: this upload needs ${size} bytes and your quota is ${limit} bytes${usage}`, [
      { field: 'size', message: `exceeds the remaining storage quota (quota ${limit} bytes)` },
    ]);
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
