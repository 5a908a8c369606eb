import { EventSubscriber } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { SQL_DATABASE, SqlDatabase } from '../ports/sql.port';
import { StorageQuota } from '../user/storage-quota';
import { FilePart } from './file-part.entity';
import { UploadSession } from './upload-session.entity';

/** A session about to be stored, with the FilePart rows of its multipart upload (none for a single PUT). */
export interface NewSession {
  session: UploadSession;
  parts: FilePart[];
}

/**
 * One statement, all or nothing: charge the owner's quota (a compare-and-set on `app_user.reserved_bytes`:
 * concurrent statements for one user queue on its row and each sees the sum the previous ones left), then
 * insert the sessions and their parts only if the charge went through. Arrays carry any number of rows,
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
                                 metadata, job_plan, quota_bytes, total_parts, completed_parts, counted_in_group, upload_token_hash,
                                 expires_at, created_at, updated_at, version)
     select s.id, s.group_id, $1::text, $4::text, s.object_key, s.upload_id, 'PENDING_UPLOAD', s.filename, s.content_type, s.size, s.checksum_sha256,
            s.metadata, s.job_plan, s.quota_bytes, s.total_parts, 0, false, $5::text, s.expires_at, s.created_at, s.created_at, 1
       from unnest($6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::text[], $14::jsonb[], $15::jsonb[],
                   $16::bigint[], $17::int[], $18::timestamptz[], $19::timestamptz[])
            as s(id, group_id, object_key, upload_id, filename, content_type, size, checksum_sha256, metadata, job_plan, quota_bytes, total_parts, expires_at, created_at)
      where exists (select 1 from allowed)
     returning 1
   ), parts as (
     insert into file_part (id, session_id, part_number, size, status)
     select p.id, p.session_id, p.part_number, p.size, 'PENDING'
       from unnest($20::uuid[], $21::uuid[], $22::int[], $23::bigint[]) as p(id, session_id, part_number, size)
      where exists (select 1 from allowed)
     returning 1
   )
   select count(*)::int as inserted from sessions`;

const RESERVED = 'select reserved_bytes from app_user where id = $1';

/**
 * A stored session still waiting for its bytes becomes a multipart upload: its store upload id and part count, and
 * its FilePart rows, in one statement; nothing when it has moved on (or is multipart already).
 */
const START_MULTIPART = `with s as (
     update upload_session set upload_id = $2, total_parts = $3, updated_at = now(), version = version + 1
      where id = $1 and status = 'PENDING_UPLOAD' and upload_id is null
     returning 1
   ), parts as (
     insert into file_part (id, session_id, part_number, size, status)
     select p.id, $1, p.part_number, p.size, 'PENDING'
       from unnest($4::uuid[], $5::int[], $6::bigint[]) as p(id, part_number, size)
      where exists (select 1 from s)
     returning 1
   )
   select count(*)::int as updated from s`;

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
   * The one way new sessions are stored: sessions of one owner and their parts, their declared sizes
   * reserved from the owner's storage quota in the same statement, or nothing at all (QUOTA_EXCEEDED).
   * In `em`'s transaction when given one (a group's slot is taken there too), else a statement of its own.
   */
  async insertNew(items: NewSession[], em?: EntityManager): Promise<void> {
    if (items.length === 0) return;
    const [{ session: first }] = items;
    if (items.some(({ session: s }) => s.userId !== first.userId || s.uploadTokenHash !== first.uploadTokenHash || s.bucket !== first.bucket)) {
      throw new Error('insertNew takes sessions of one owner and one bucket');
    }
    const bytes = this.quota.reserve(items.map((i) => i.session));
    const sessions = items.map((i) => i.session);
    for (const s of sessions) s.updatedAt = s.createdAt;
    const parts = items.flatMap((i) => i.parts);
    const sql = em ? this.db.of(em) : this.db;
    const [{ inserted }] = await sql.query<{ inserted: number }>(
      INSERT_NEW,
      [
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
        sessions.map((s) => s.expiresAt),
        sessions.map((s) => s.createdAt),
        parts.map((p) => p.id),
        parts.map((p) => p.sessionId),
        parts.map((p) => p.partNumber),
        parts.map((p) => p.size),
      ],
    );
    if (inserted === sessions.length) return;
    const [held] = await sql.query<{ reserved_bytes: string }>(RESERVED, [first.userId]);
    throw this.quota.exceeded(bytes, held ? Number(held.reserved_bytes) : null);
  }

  /** The size and part count of a session whose client chose its parts, its quota settled to that size. */
  async recordChosenParts(sessionId: string, size: number, totalParts: number): Promise<void> {
    await this.db.query(RECORD_CHOSEN_PARTS, [sessionId, size, totalParts]);
  }

  /**
   * A reuse that found no copy left turns into a multipart upload: whether the stored session (still
   * PENDING_UPLOAD, no store upload yet) became the multipart upload of `session.uploadId` with these parts.
   */
  async startMultipartInstead(session: UploadSession, parts: FilePart[]): Promise<boolean> {
    const [{ updated }] = await this.db.query<{ updated: number }>(START_MULTIPART, [
      session.id,
      session.uploadId,
      session.totalParts,
      parts.map((p) => p.id),
      parts.map((p) => p.partNumber),
      parts.map((p) => p.size),
    ]);
    return updated === 1;
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
