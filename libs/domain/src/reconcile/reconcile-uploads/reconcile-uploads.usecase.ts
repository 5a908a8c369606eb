import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { SESSION_COLUMNS, SessionRecord, toDate, toSessionRecord } from '../../lifecycle/records';
import { OBJECT_STORAGE, ObjectStorage, StoredObject } from '../../ports/object-storage.port';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';
import { ApplyStorageEventUseCase, StorageEventOutcome } from '../../storage-event/apply-storage-event/apply-storage-event.usecase';
import { StorageObjectEvent } from '../../storage-event/storage-object-event';
import { SessionEndings } from '../../upload/session-endings';
import type { ReconcileErrors, ReconcileStep } from '../reconcile-step';

export interface ReconcileUploadsSettings {
  /** Sessions looked at per pass, per kind (expired, overdue). */
  batchSize: number;
  /** How long a waiting session is left to its storage notification before the store is asked. */
  graceMs: number;
}

export interface ReconcileUploadsFigures {
  checked: number;
  advanced: number;
  expired: number;
}

/** The only sessions expiry may fail: those still waiting for their bytes (never one the store already holds). */
export const EXPIRABLE: readonly FileStatus[] = [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING];

/** A waiting session as the scans read it. */
interface WaitingSession extends SessionRecord {
  expiresAt: Date;
  /** As Postgres has it (microseconds): the keyset cursor must not round it. */
  createdAt: string;
}

/** What the reconciler makes of a session whose object it found: a notification it synthesizes. */
export function reconciledEvent(session: Pick<SessionRecord, 'id' | 'bucket' | 'objectKey'>, stored: StoredObject): StorageObjectEvent {
  return {
    kind: 'created',
    eventName: 'Reconciled:Head',
    source: 'reconciler',
    bucket: session.bucket,
    key: session.objectKey,
    size: stored.size,
    etag: stored.etag,
    sequencer: null,
    // Its own identity namespace: it never collides with a store's event (those carry the store's
    // sequencer or event id), so the real notification, if it comes late, is still applied (as a no-op).
    eventId: `reconciler:${session.id}`,
    eventTime: null,
  };
}

/**
 * Settles upload sessions whose storage notification never came (the store drops them while the broker is
 * down, MinIO across restarts): a waiting session whose object exists is advanced exactly as its
 * notification would have advanced it; one past `expiresAt` without an object fails with EXPIRED (only from
 * PENDING_UPLOAD or UPLOADING: a session whose object arrived meanwhile stays) and its multipart upload is
 * aborted. Each session is its own short transaction, the store's calls outside any; one that fails is reported
 * and the next is looked at. Every step is a compare-and-set, so two reconcilers, or a reconciler and a late
 * notification, cannot apply anything twice.
 */
@Injectable()
export class ReconcileUploadsUseCase implements ReconcileStep {
  readonly name = 'uploads';
  private readonly logger = new Logger(ReconcileUploadsUseCase.name);
  /** Keyset position of the overdue scan, so that long-waiting sessions do not starve the others. */
  private cursor: { createdAt: string; id: string } | null = null;

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly lifecycle: LifecycleWriter,
    private readonly endings: SessionEndings,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async run(settings: ReconcileUploadsSettings, errors: ReconcileErrors): Promise<ReconcileUploadsFigures> {
    const figures: ReconcileUploadsFigures = { checked: 0, advanced: 0, expired: 0 };
    const expired = await this.scan(`s.expires_at < now()`, [], 's.expires_at', settings.batchSize);
    const overdue = await this.overdue(settings);
    for (const session of [...expired, ...overdue]) {
      figures.checked++;
      try {
        const outcome = await this.reconcile(session);
        if (outcome === 'uploaded' || outcome === 'size-mismatch') figures.advanced++;
        if (outcome === 'expired') figures.expired++;
      } catch (e) {
        errors.item(this.name, session.id, e);
      }
    }
    return figures;
  }

  private async scan(condition: string, values: unknown[], orderBy: string, limit: number): Promise<WaitingSession[]> {
    const rows = await this.db.query(
      `select ${SESSION_COLUMNS}, s.expires_at, s.created_at::text as created_at from upload_session s
        where s.status = any($1::text[]) and s.bucket = $2 and ${condition} order by ${orderBy} limit $3`,
      [EXPIRABLE, this.storage.bucket, limit, ...values],
    );
    return rows.map((r) => ({ ...toSessionRecord(r), expiresAt: toDate(r.expires_at)!, createdAt: r.created_at as string }));
  }

  private async overdue(settings: ReconcileUploadsSettings): Promise<WaitingSession[]> {
    const after = this.cursor ? ` and (s.created_at, s.id) > ($5::timestamptz, $6::uuid)` : '';
    const page = await this.scan(
      `s.expires_at >= now() and s.updated_at < now() - $4 * interval '1 millisecond'${after}`,
      [settings.graceMs, ...(this.cursor ? [this.cursor.createdAt, this.cursor.id] : [])],
      's.created_at, s.id',
      settings.batchSize,
    );
    const last = page.at(-1);
    // A short page means the scan reached the end: start from the beginning next time.
    this.cursor = page.length === settings.batchSize && last ? { createdAt: last.createdAt, id: last.id } : null;
    return page;
  }

  private async reconcile(session: WaitingSession): Promise<StorageEventOutcome | 'expired' | 'waiting'> {
    const stored = await this.storage.head(session.objectKey);
    if (stored) {
      const outcome = await this.applyStorageEvent.execute(reconciledEvent(session, stored));
      if (outcome !== 'duplicate' && outcome !== 'already-applied') {
        this.logger.log({ msg: 'session reconciled from storage', sessionId: session.id, outcome });
      }
      return outcome;
    }
    if (session.expiresAt.getTime() >= Date.now()) return 'waiting';
    return (await this.expire(session)) ? 'expired' : 'waiting';
  }

  private async expire(session: WaitingSession): Promise<boolean> {
    const expired = await this.db.transaction(async (tx) => {
      // The lock order: the session (its status write), its group, its owner (releasing its quota).
      const [moved] = await this.lifecycle.failSessions(
        tx,
        [{ id: session.id, error: 'EXPIRED', errorMessage: `no upload arrived before ${session.expiresAt.toISOString()}` }],
        // Not UPLOADED or later: its object may have arrived (the client completed) after the HEAD answered 404.
        [...EXPIRABLE],
      );
      if (!moved) return null;
      await this.endings.endedMany(tx, [moved], DomainEventType.SessionFailed);
      return moved;
    });
    if (!expired) return false;
    // After the commit, outside any transaction.
    if (expired.uploadId) {
      // Nothing of an abandoned multipart upload may stay in the store.
      await this.storage.abortMultipartUpload(expired.objectKey, expired.uploadId);
    }
    // An object that landed between the HEAD and the commit must not stay (its notification, if any,
    // would remove it too: creation after FAILED deletes the late object).
    await this.storage.delete(expired.objectKey);
    this.logger.log({ msg: 'session expired', sessionId: expired.id });
    return true;
  }
}
