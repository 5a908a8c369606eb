import { Injectable, Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '@app/database';
import { ApplyStorageEventUseCase, sessionIdFromKey, StorageEventOutcome, StorageObjectEvent } from '@app/domain';
import { DeadLetter, MalformedNotification, normalizeStorageNotification, toMessageDisposition } from '@app/messaging';
import { Metrics } from '@app/observability';
import { MicroBatcher } from './micro-batcher';

export type NotificationTransport = 'amqp' | 'http';

/** A body that is not a storage notification at all: dead-lettered from a queue, refused with a 400 over HTTP. */
export class UnreadableNotification extends DeadLetter {}

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
  private readonly batches: MicroBatcher<StorageObjectEvent, StorageEventOutcome>;

  constructor(applyStorageEvent: ApplyStorageEventUseCase) {
    // One batch waits on the database while the next fills; nobody waits to fill one.
    this.batches = new MicroBatcher((events) => applyStorageEvent.applyBatch(events), {
      name: 'StorageNotifications',
      concurrency: 2,
      lingerMs: 0,
      maxItems: Infinity,
      failsAll: isDatabaseUnavailable,
    });
  }

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
      outcomes = await this.batches.submit(events);
    } catch (e) {
      throw toMessageDisposition(e);
    }
    const unknown: number[] = [];
    events.forEach((event, i) => {
      const outcome = outcomes[i];
      if (outcome === 'unknown-object') unknown.push(i);
      // Logs of this event carry the upload's id (the session id prefixes every key we make).
      this.logger.log({
        msg: 'storage event applied',
        correlationId: sessionIdFromKey(event.key) ?? undefined,
        transport,
        eventName: event.eventName,
        bucket: event.bucket,
        key: event.key,
        outcome,
      });
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
}
