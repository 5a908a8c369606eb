import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { FileStatus, PartStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { StoredPart } from '../../ports/object-storage.port';
import { FilePart } from '../file-part.entity';
import { UploadPolicy } from '../upload-policy';
import { unsizedCeiling } from '../upload-rules';
import { UploadSession } from '../upload-session.entity';
import { MAX_PARTS, MIN_PART_SIZE, partLength } from './part-plan';

/** The part numbers a session accepts: 1..totalParts, or S3's 1..10,000 while the client decides (Uppy). */
export function partRange(session: UploadSession): number {
  return session.totalParts > 0 ? session.totalParts : MAX_PARTS;
}

/**
 * The part numbers we sign URLs for: 1..totalParts, or, while the client decides (Uppy, no declared size), as many
 * as its byte ceiling allows. Every part but the last holds at least 5 MiB, so an upload using a part number above
 * ceil(ceiling / 5 MiB) would exceed the ceiling: such URLs are never signed (before issue 16: up to 10,000 parts
 * of up to 5 GiB each, whatever MAX_FILE_SIZE said).
 */
export function signableParts(session: UploadSession, policy: Pick<UploadPolicy, 'maxFileSize' | 'userQuotaBytes'>): number {
  if (session.totalParts > 0) return session.totalParts;
  return Math.min(MAX_PARTS, Math.max(1, Math.ceil(unsizedCeiling(policy, session.userId) / MIN_PART_SIZE)));
}

/**
 * The exact length part `partNumber` must have where the part plan is ours (from the session's size, part size and
 * part count: no row needed); undefined while the client chooses its parts (Uppy).
 */
export function plannedPartLength(session: Pick<UploadSession, 'size' | 'partSize' | 'totalParts'>, partNumber: number): number | undefined {
  if (session.partSize <= 0 || session.totalParts <= 0 || session.size === null) return undefined;
  return partLength(session.size, { partSize: session.partSize, totalParts: session.totalParts }, partNumber);
}

/** A multipart session still taking parts, or a 409 saying why not (a 410 once it has expired). */
export function assertTakingParts(session: UploadSession): asserts session is UploadSession & { uploadId: string } {
  if (session.uploadId === null) {
    throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id} is a single-PUT upload; it has no parts`);
  }
  if (session.status !== FileStatus.PENDING_UPLOAD && session.status !== FileStatus.UPLOADING) {
    const why = session.error ? ` (${session.error})` : '';
    throw new DomainError(DomainErrorCode.SESSION_STATE_CONFLICT, `Upload ${session.id} is ${session.status}${why} and takes no more parts`);
  }
  if (isExpired(session)) throw uploadExpired(session);
}

/**
 * Whether a session waiting for its bytes is past its `expiresAt`: from then on it takes no more parts and is not
 * completed (the reconciler fails it with EXPIRED once the store shows no object; an object already stored is
 * still taken).
 */
export function isExpired(session: Pick<UploadSession, 'expiresAt'>, now = new Date()): boolean {
  return session.expiresAt.getTime() <= now.getTime();
}

/** The 410 of a session past its `expiresAt`. */
export function uploadExpired(session: Pick<UploadSession, 'id' | 'expiresAt'>): DomainError {
  return new DomainError(DomainErrorCode.UPLOAD_EXPIRED, `Upload ${session.id} expired at ${session.expiresAt.toISOString()}; start a new upload`);
}

/**
 * Brings FilePart rows and the session's counters in line with what the store holds. A part gets its row here,
 * when the store first reports it (rows are never created up front: issue 16, MEDIUM 4), and becomes UPLOADED (a
 * re-sent part updates its etag and size); the session becomes UPLOADING once the first part is seen. Safe to run
 * concurrently: inserts ignore existing rows, status writes are compare-and-set.
 */
@Injectable()
export class MultipartParts {
  constructor(private readonly lifecycle: LifecycleWriter) {}

  async reconcile(em: EntityManager, session: UploadSession, stored: StoredPart[]): Promise<void> {
    const inRange = stored.filter((p) => p.partNumber >= 1 && p.partNumber <= partRange(session));
    await em.transactional(async (tx) => {
      if (inRange.length > 0) {
        // Born PENDING, then moved by the writer like any row (sessions created before lazy rows still have theirs).
        const values = inRange.map(() => '(gen_random_uuid(), ?, ?, ?, ?)').join(', ');
        await tx.execute(
          `insert into file_part (id, session_id, part_number, size, status) values ${values} on conflict (session_id, part_number) do nothing`,
          inRange.flatMap((p) => [session.id, p.partNumber, p.size, PartStatus.PENDING]),
        );
      }
      const rows = await tx.find(FilePart, { sessionId: session.id }, { refresh: true });
      const byNumber = new Map(rows.map((r) => [r.partNumber, r]));
      for (const p of inRange) {
        const row = byNumber.get(p.partNumber);
        if (!row) continue;
        if (row.status === PartStatus.UPLOADED) {
          // Re-sent part: not a status change, only what the store now holds.
          if (row.etag !== p.etag || row.size !== p.size)
            await tx.nativeUpdate(FilePart, { id: row.id }, { etag: p.etag, size: p.size, uploadedAt: p.lastModified ?? new Date() });
        } else {
          await this.lifecycle.markPartUploaded(tx, session.id, p.partNumber, { etag: p.etag, size: p.size, uploadedAt: p.lastModified });
        }
      }
      // Only when it changes: every update of a session bumps its optimistic-lock version.
      await tx.nativeUpdate(UploadSession, { id: session.id, completedParts: { $ne: inRange.length } }, { completedParts: inRange.length });
      if (inRange.length > 0) await this.lifecycle.markUploading(tx, session.id);
    });
  }
}
