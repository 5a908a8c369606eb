import { EventSubscriber } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { Sql, SQL_DATABASE, SqlDatabase } from '../ports/sql.port';
import { StorageQuota } from '../user/storage-quota';
import { UploadSession } from './upload-session.entity';

/**
 * A session about to be stored. A multipart one carries its part plan (`totalParts`, `partSize`), not rows: its
 * `file_part` rows appear only as the store reports its parts (MultipartParts.reconcile).
 */
export interface NewSession {
  session: UploadSession;
}

/**
 * One statement, all or nothing: charge the owner's quota (a compare-and-set on `app_user.reserved_bytes`:
 * concurrent statements for one user queue on its row and each sees the sum the previous ones left), then
 * insert the sessions only if the charge went through. Arrays carry any number of rows,
 * so one prepared statement serves a single PUT, a multipart upload and a whole group.
 * $1 owner (null: anonymous), $2 bytes to reserve (0: none), $3 quota (0: unlimited), $4 bucket, $5 upload token hash.
 */
const INSERT_NEW = `with charge as (
     insert into app_user (id, created_at, reserved_bytes)
     select $1::text, now(), $2::bigint where $2::bigint > 0 and ($3::bigint = 0 or $2::bigint <= $3::bigint)
     on conflict (id) do update set reserved_bytes = app_user.reserved_bytes + excluded.reserved_bytes
       where $3::bigint = 0 or app_user.reserved_bytes + excluded.reserved_bytes <= $3::bigint
     returning 1
   ), allowed as (
     select 1 where $2::bigint = 0 or exists (select 1 from charge)
   ), sessions as (
     insert into upload_session (id, group_id, user_id, bucket, object_key, upload_id, status, filename, content_type, size, checksum_sha256,
                                 metadata, job_plan, quota_bytes, total_parts, part_size, completed_parts, counted_in_group, upload_token_hash,
                                 expires_at, created_at, updated_at, version)
     select s.id, s.group_id, $1::text, $4::text, s.object_key, s.upload_id, 'PENDING_UPLOAD', s.filename, s.content_type, s.size, s.checksum_sha256,
            s.metadata, s.job_plan, s.quota_bytes, s.total_parts, s.part_size, 0, false, $5::text, s.expires_at, s.created_at, s.created_at, 1
       from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::jsonb[], $15::jsonb[],
                   $16::bigint[], $17::int[], $18::bigint[], $19::timestamptz[], $20::timestamptz[])
            as s(id, group_id, object_key, upload_id, filename, content_type, size, checksum_sha256, metadata, job_plan, quota_bytes, total_parts, part_size,
                 expires_at, created_at)
      where exists (select 1 from allowed)
     returning 1
   )
   select count(*)::int as inserted from sessions`;

const RESERVED = 'select reserved_bytes from app_user where id = $1';

/** Creations stored by one group-commit statement at most (its arrays stay a few hundred rows). */
const MAX_BATCH = 32;

/** A creation waiting for its owner's next statement. */
interface Creation {
  items: NewSession[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A stored session still waiting for its bytes becomes a multipart upload: its store upload id and part plan;
 * nothing when it has moved on (or is multipart already).
 */
const START_MULTIPART = `update upload_session set upload_id = $2, total_parts = $3, part_size = $4, updated_at = now(), version = version + 1
      where id = $1 and status = 'PENDING_UPLOAD' and upload_id is null returning 1`;

/**
 * A session whose client chose its parts (Uppy) learns its size and part count at completion; what it reserved
 * at its ceiling settles to that size in the same statement (the rest goes back to the owner's quota).
 */
const RECORD_CHOSEN_PARTS = `with old as (
     select id, user_id, quota_bytes from upload_session where id = $1 for update
   ), recorded as (
     update upload_session s set size = $2, total_parts = $3, quota_bytes = least(s.quota_bytes, $2::bigint)
       from old where s.id = old.id
     returning old.user_id, old.quota_bytes - s.quota_bytes as bytes
   )
   update app_user u set reserved_bytes = greatest(0, u.reserved_bytes - r.bytes) from recorded r where u.id = r.user_id and r.bytes > 0`;

/** Event managers already guarded (a second provider instance must not register twice). */
const guarded = new WeakSet<object>();

/** Writes of upload sessions that the request path makes. */
@Injectable()
export class UploadSessionRepository {
  /** Per owner with a statement in flight: the creations waiting for the next one. */
  private readonly waiting = new Map<string, Creation[]>();

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly quota: StorageQuota,
    em: EntityManager,
  ) {
    // Where sessions are created (the gateway), a session persisted through the unit of work would skip the
    // quota: refuse it loudly, so no route can forget to come through insertNew.
    const events = em.getEventManager();
    if (guarded.has(events)) return;
    guarded.add(events);
    events.registerSubscriber(new InsertThroughRepository());
  }

  /**
   * The one way new sessions are stored: sessions of one owner, their declared sizes
   * reserved from the owner's storage quota in the same statement, or nothing at all (QUOTA_EXCEEDED).
   * In `em`'s transaction when given one (a group's slot is taken there too), else a statement of its own,
   * shared with the owner's other creations waiting at that moment (group commit, see `enqueue`).
   */
  async insertNew(items: NewSession[], em?: EntityManager): Promise<void> {
    if (items.length === 0) return;
    const [{ session: first }] = items;
    if (items.some(({ session: s }) => s.userId !== first.userId || s.uploadTokenHash !== first.uploadTokenHash || s.bucket !== first.bucket)) {
      throw new Error('insertNew takes sessions of one owner and one bucket');
    }
    if (em) return this.insertOrRefuse(items, this.db.of(em));
    return this.enqueue(items);
  }

  /**
   * Group commit of one owner's creations. Their charges all update the owner's `app_user` row, so their
   * statements queue on its lock through each other's commits anyway; instead, at most one statement per owner
   * is in flight from this process, and the creations arriving meanwhile wait for it and then go together in
   * the next one: one row lock and one commit for the lot. Nothing waits on a timer: a lone creation goes at
   * once, and batches grow only as fast as creations queue.
   * Each caller still gets its own outcome: a batch is all or nothing, and when it fails (its sum does not fit
   * the quota, or the statement fails) its creations are stored one by one, in arrival order, each with its
   * own answer, exactly as if they had come one after the other. Across replicas the row lock still orders
   * every statement, so the quota stays exact.
   */
  private enqueue(items: NewSession[]): Promise<void> {
    const [{ session: s }] = items;
    const key = `${s.bucket}\u0000${s.userId ?? ''}\u0000${s.uploadTokenHash ?? ''}`;
    return new Promise<void>((resolve, reject) => {
      const creation: Creation = { items, resolve, reject };
      const waiting = this.waiting.get(key);
      if (waiting) {
        waiting.push(creation);
        return;
      }
      this.waiting.set(key, []);
      void this.drain(key, [creation]);
    });
  }

  /** Stores `batch`, then whatever queued for this owner meanwhile, until nothing waits. */
  private async drain(key: string, batch: Creation[]): Promise<void> {
    for (;;) {
      await this.storeBatch(batch);
      const waiting = this.waiting.get(key)!;
      if (waiting.length === 0) {
        this.waiting.delete(key);
        return;
      }
      batch = waiting.splice(0, MAX_BATCH);
    }
  }

  /** Settles every creation of `batch`; never throws. */
  private async storeBatch(batch: Creation[]): Promise<void> {
    if (batch.length > 1) {
      const stored = await this.insertAll(
        batch.flatMap((c) => c.items),
        this.db,
      ).catch(() => false);
      if (stored) {
        for (const c of batch) c.resolve();
        return;
      }
    }
    for (const c of batch) {
      await this.insertOrRefuse(c.items, this.db).then(c.resolve, c.reject);
    }
  }

  /** Stores `items` and their quota charge in one statement, or throws QUOTA_EXCEEDED with what the owner holds. */
  private async insertOrRefuse(items: NewSession[], sql: Sql): Promise<void> {
    if (await this.insertAll(items, sql)) return;
    const [{ session: first }] = items;
    const [held] = await sql.query<{ reserved_bytes: string }>(RESERVED, [first.userId]);
    throw this.quota.exceeded(this.quota.reserve(items.map((i) => i.session)), held ? Number(held.reserved_bytes) : null);
  }

  /**
   * One statement: all of `items` (one owner's) stored with their charge, true; or nothing, false, when the charge
   * does not fit the quota. Throws QUOTA_EXCEEDED at once when they could not fit even in an empty quota.
   */
  private async insertAll(items: NewSession[], sql: Sql): Promise<boolean> {
    const [{ session: first }] = items;
    const bytes = this.quota.reserve(items.map((i) => i.session));
    const sessions = items.map((i) => i.session);
    for (const s of sessions) s.updatedAt = s.createdAt;
    const [{ inserted }] = await sql.query<{ inserted: number }>(INSERT_NEW, [
      first.userId,
      bytes,
      this.quota.limit,
      first.bucket,
      first.uploadTokenHash,
      sessions.map((s) => s.id),
      sessions.map((s) => s.groupId),
      sessions.map((s) => s.objectKey),
      sessions.map((s) => s.uploadId),
      sessions.map((s) => s.filename),
      sessions.map((s) => s.contentType),
      sessions.map((s) => s.size),
      sessions.map((s) => s.checksumSha256),
      sessions.map((s) => JSON.stringify(s.metadata)),
      sessions.map((s) => JSON.stringify(s.jobPlan)),
      sessions.map((s) => s.quotaBytes),
      sessions.map((s) => s.totalParts),
      sessions.map((s) => s.partSize),
      sessions.map((s) => s.expiresAt),
      sessions.map((s) => s.createdAt),
    ]);
    return inserted === sessions.length;
  }

  /** The size and part count of a session whose client chose its parts, its quota settled to that size. */
  async recordChosenParts(sessionId: string, size: number, totalParts: number): Promise<void> {
    await this.db.query(RECORD_CHOSEN_PARTS, [sessionId, size, totalParts]);
  }

  /**
   * A reuse that found no copy left turns into a multipart upload: whether the stored session (still
   * PENDING_UPLOAD, no store upload yet) became the multipart upload of `session.uploadId` with its part plan.
   */
  async startMultipartInstead(session: UploadSession): Promise<boolean> {
    const updated = await this.db.query(START_MULTIPART, [session.id, session.uploadId, session.totalParts, session.partSize]);
    return updated.length === 1;
  }
}

class InsertThroughRepository implements EventSubscriber<UploadSession> {
  getSubscribedEntities() {
    return [UploadSession];
  }

  beforeCreate(): void {
    throw new Error('new upload sessions are stored by UploadSessionRepository.insertNew, which reserves their quota');
  }
}
