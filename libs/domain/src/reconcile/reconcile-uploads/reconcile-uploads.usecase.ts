import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, FileStatus } from '@app/contracts';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { OBJECT_STORAGE, ObjectStorage, StoredObject } from '../../ports/object-storage.port';
import { ApplyStorageEventUseCase, StorageEventOutcome } from '../../storage-event/apply-storage-event/apply-storage-event.usecase';
import { StorageObjectEvent } from '../../storage-event/storage-object-event';
import { UploadSession } from '../../upload/upload-session.entity';
import { SessionEndings } from '../../upload/session-endings';

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

const WAITING = [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING];

/** What the reconciler makes of a session whose object it found: a notification it synthesizes. */
export function reconciledEvent(session: UploadSession, stored: StoredObject): StorageObjectEvent {
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
 * notification would have advanced it; one past `expiresAt` without an object fails with EXPIRED and its
 * multipart upload is aborted. Every step is a compare-and-set, so two reconcilers, or a reconciler and a
 * late notification, cannot apply anything twice.
 */
@Injectable()
export class ReconcileUploadsUseCase {
  private readonly logger = new Logger(ReconcileUploadsUseCase.name);
  /** Keyset position of the overdue scan, so that long-waiting sessions do not starve the others. */
  private cursor: { createdAt: Date; id: string } | null = null;

  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly endings: SessionEndings,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  async execute(settings: ReconcileUploadsSettings): Promise<ReconcileUploadsFigures> {
    const figures: ReconcileUploadsFigures = { checked: 0, advanced: 0, expired: 0 };
    const now = new Date();
    const expired = await this.em.fork().find(
      UploadSession,
      { status: { $in: WAITING }, expiresAt: { $lt: now }, bucket: this.storage.bucket },
      { orderBy: { expiresAt: 'asc' }, limit: settings.batchSize },
    );
    const overdue = await this.overdue(settings, now);
    for (const session of [...expired, ...overdue]) {
      figures.checked++;
      const outcome = await this.reconcile(session, now);
      if (outcome === 'uploaded' || outcome === 'size-mismatch') figures.advanced++;
      if (outcome === 'expired') figures.expired++;
    }
    return figures;
  }

  private async overdue(settings: ReconcileUploadsSettings, now: Date): Promise<UploadSession[]> {
    const where = {
      status: { $in: WAITING },
      expiresAt: { $gte: now },
      updatedAt: { $lt: new Date(now.getTime() - settings.graceMs) },
      bucket: this.storage.bucket,
    };
    const after = this.cursor ? { $or: [{ createdAt: { $gt: this.cursor.createdAt } }, { createdAt: this.cursor.createdAt, id: { $gt: this.cursor.id } }] } : {};
    const page = await this.em.fork().find(UploadSession, { ...where, ...after }, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: settings.batchSize });
    const last = page.at(-1);
    // A short page means the scan reached the end: start from the beginning next time.
    this.cursor = page.length === settings.batchSize && last ? { createdAt: last.createdAt, id: last.id } : null;
    return page;
  }

  private async reconcile(session: UploadSession, now: Date): Promise<StorageEventOutcome | 'expired' | 'waiting'> {
    const stored = await this.storage.head(session.objectKey);
    if (stored) {
      const outcome = await this.applyStorageEvent.execute(reconciledEvent(session, stored));
      if (outcome !== 'duplicate' && outcome !== 'already-applied') {
        this.logger.log({ msg: 'session reconciled from storage', sessionId: session.id, outcome });
      }
      return outcome;
    }
    if (session.expiresAt.getTime() >= now.getTime()) return 'waiting';
    return (await this.expire(session)) ? 'expired' : 'waiting';
  }

  private async expire(session: UploadSession): Promise<boolean> {
    const expired = await this.uow.run(async (em) => {
      if (!(await this.lifecycle.markFailed(em, session.id, 'EXPIRED', `no upload arrived before ${session.expiresAt.toISOString()}`))) return null;
      return this.endings.ended(em, session.id, DomainEventType.SessionFailed);
    });
    if (!expired) return false;
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
