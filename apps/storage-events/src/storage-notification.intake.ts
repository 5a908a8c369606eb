import { Injectable, Logger } from '@nestjs/common';
import { ApplyStorageEventUseCase, sessionIdFromKey, StorageEventOutcome, StorageObjectEvent } from '@app/domain';
import { DeadLetter, MalformedNotification, normalizeStorageNotification, toMessageDisposition } from '@app/messaging';
import { Metrics } from '@app/observability';

export type NotificationTransport = 'amqp' | 'http';

/** A body that is not a storage notification at all: dead-lettered from a queue, refused with a 400 over HTTP. */
export class UnreadableNotification extends DeadLetter {}

/** Notification batches applied at once (each its own transaction): one waits on the database, one fills. */
const CONCURRENT_BATCHES = 2;

interface Submission {
  events: StorageObjectEvent[];
  /** When it was submitted (for the batch's debug line). */
  at: number;
  resolve(outcomes: StorageEventOutcome[]): void;
  reject(e: unknown): void;
}

/**
 * The one path every storage notification takes, whichever way it arrived (RabbitMQ or the webhook): normalize
 * the body (MinIO, AWS S3 or Ceph RGW shape), apply its events, count what happened. Notifications that arrive
 * together (in the same turn of the event loop, or while a batch is being applied) are applied as one batch, in
 * one transaction: nobody waits to fill a batch. Throws what a consumer needs to decide the message's fate:
 * DeadLetter for what can never succeed (only the records that cannot: the others of the message are applied),
 * RetryLater when a dependency is down, anything else for a bounded retry.
 */
@Injectable()
export class StorageNotificationIntake {
  private readonly logger = new Logger('StorageNotifications');
  private readonly waiting: Submission[] = [];
  private applying = 0;
  private scheduled = false;

  constructor(private readonly applyStorageEvent: ApplyStorageEventUseCase) {}

  async apply(body: unknown, transport: NotificationTransport): Promise<StorageEventOutcome[]> {
    let normalized;
    try {
      normalized = normalizeStorageNotification(body);
    } catch (e) {
      if (!(e instanceof MalformedNotification)) throw e;
      Metrics.storageEventsReceived.inc({ transport });
      Metrics.storageEventsOutcomes.inc({ transport, outcome: 'dead-lettered' });
      throw new UnreadableNotification(e.message);
    }
    const { events, recordIndices } = normalized;
    Metrics.storageEventsReceived.inc({ transport }, events.length);
    let outcomes: StorageEventOutcome[];
    try {
      outcomes = events.length === 0 ? [] : await this.submit(events);
    } catch (e) {
      throw toMessageDisposition(e);
    }
    const unknown: number[] = [];
    events.forEach((event, i) => {
      const outcome = outcomes[i];
      if (outcome === 'unknown-object') unknown.push(i);
      // Logs of this event carry the upload's id (the session id prefixes every key we make).
      this.logger.log({ msg: 'storage event applied', correlationId: sessionIdFromKey(event.key) ?? undefined, transport, eventName: event.eventName, bucket: event.bucket, key: event.key, outcome });
      Metrics.storageEventsOutcomes.inc({ transport, outcome: outcome === 'unknown-object' ? 'dead-lettered' : outcome });
    });
    if (unknown.length > 0) {
      const reason = `UNKNOWN_OBJECT: No upload session for object ${unknown.map((i) => `${events[i].bucket}/${events[i].key}`).join(', ')}`;
      // Only the records that can never apply: the others of the message were applied and committed.
      const failing = { ...(body as Record<string, unknown>), Records: unknown.map((i) => (body as { Records: unknown[] }).Records[recordIndices[i]]) };
      throw new DeadLetter(reason, unknown.length === events.length ? undefined : Buffer.from(JSON.stringify(failing)));
    }
    return outcomes;
  }

  private submit(events: StorageObjectEvent[]): Promise<StorageEventOutcome[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject, at: Date.now() });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.applying >= CONCURRENT_BATCHES || this.waiting.length === 0) return;
    this.scheduled = true;
    // Notifications delivered in the same turn of the event loop join the batch.
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.waiting.splice(0);
      this.applying++;
      void this.applyBatch(batch).finally(() => {
        this.applying--;
        this.schedule();
      });
      this.schedule();
    });
  }

  private async applyBatch(batch: Submission[]): Promise<void> {
    const started = Date.now();
    try {
      const outcomes = await this.applyStorageEvent.applyBatch(batch.flatMap((s) => s.events));
      this.logger.debug({ msg: 'storage events batch applied', notifications: batch.length, waitedMs: started - Math.min(...batch.map((s) => s.at)), appliedMs: Date.now() - started });
      let at = 0;
      for (const s of batch) {
        s.resolve(outcomes.slice(at, at + s.events.length));
        at += s.events.length;
      }
    } catch (e) {
      if (batch.length === 1) return batch[0].reject(e);
      // One notification must not fail the others of its batch: each is applied alone (an outage fails them all fast).
      this.logger.warn({ msg: 'a batch of storage notifications failed; applying them one by one', notifications: batch.length, err: e instanceof Error ? e.message : String(e) });
      for (const s of batch) await this.applyStorageEvent.applyBatch(s.events).then(s.resolve, s.reject);
    }
  }
}
