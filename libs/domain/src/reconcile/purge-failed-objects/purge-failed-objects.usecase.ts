import { Inject, Injectable, Logger } from '@nestjs/common';
import { FileStatus } from '@app/contracts';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';
import { THUMBNAILS_PREFIX } from '../../upload/object-key';

export interface PurgeFailedObjectsSettings {
  batchSize: number;
  /** How long the bytes of a FAILED session stay in the store (FAILED_OBJECT_RETENTION_SECONDS). */
  failedObjectRetentionMs: number;
}

export interface PurgeFailedObjectsFigures {
  failedObjectsDeleted: number;
}

/** Storage calls at once. */
const CONCURRENCY = 4;

/**
 * Deletes what FAILED sessions left in the store once their retention has passed: the object (a file that
 * failed validation, a size mismatch, a late PUT), its thumbnails, and its multipart upload if one is still
 * open; then records it (`object_deleted_at`), so each session is purged once. A FAILED session gives its quota
 * back when it fails; this makes the store hold what the quotas count. No transaction is open during the store's
 * calls; the record is one short statement for the batch. A session whose deletion fails is retried next pass.
 *
 * Every FAILED session is looked at, not only those known to have bytes: an expiry, an abort or a cancel
 * deletes after its commit, best effort, and this is what makes that deletion certain.
 */
@Injectable()
export class PurgeFailedObjectsUseCase {
  private readonly logger = new Logger(PurgeFailedObjectsUseCase.name);

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(settings: PurgeFailedObjectsSettings): Promise<PurgeFailedObjectsFigures> {
    // Reads the partial index upload_session_failed_unpurged_index.
    const due = await this.db.query<{ id: string; object_key: string; upload_id: string | null }>(
      `select id, object_key, upload_id from upload_session
        where status = $1 and object_deleted_at is null and updated_at <= now() - $2 * interval '1 millisecond' and bucket = $3
        order by updated_at limit $4`,
      [FileStatus.FAILED, settings.failedObjectRetentionMs, this.storage.bucket, settings.batchSize],
    );
    if (due.length === 0) return { failedObjectsDeleted: 0 };
    const deleted: string[] = [];
    const queue = [...due];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        try {
          if (s.upload_id) await this.storage.abortMultipartUpload(s.object_key, s.upload_id);
          await this.storage.delete(s.object_key);
          await this.storage.deletePrefix(`${THUMBNAILS_PREFIX}${s.id}/`);
          deleted.push(s.id);
        } catch (e) {
          this.logger.warn({
            msg: 'could not delete the bytes of a failed upload; next pass retries',
            sessionId: s.id,
            err: e instanceof Error ? e.message : String(e),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
    const recorded = await this.db.transaction((tx) => this.lifecycle.markFailedObjectsDeleted(tx, deleted));
    if (recorded.length > 0) this.logger.log({ msg: 'bytes of failed uploads deleted', sessions: recorded.length });
    return { failedObjectsDeleted: recorded.length };
  }
}
