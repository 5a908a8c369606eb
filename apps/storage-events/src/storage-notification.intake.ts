import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { ApplyStorageEventUseCase, sessionIdFromKey, StorageEventOutcome } from '@app/domain';
import { DeadLetter, MalformedNotification, normalizeStorageNotification, toMessageDisposition } from '@app/messaging';
import { Correlation, Metrics } from '@app/observability';

export type NotificationTransport = 'amqp' | 'http';

/** A body that is not a storage notification at all: dead-lettered from a queue, refused with a 400 over HTTP. */
export class UnreadableNotification extends DeadLetter {}

/**
 * The one path every storage notification takes, whichever way it arrived (RabbitMQ or the webhook):
 * normalize the body (MinIO, AWS S3 or Ceph RGW shape), apply each event through ApplyStorageEventUseCase,
 * count what happened. Throws what a consumer needs to decide the message's fate: DeadLetter for what can
 * never succeed, RetryLater when a dependency is down, anything else for a bounded retry.
 */
@Injectable()
export class StorageNotificationIntake {
  private readonly logger = new Logger('StorageNotifications');

  constructor(
    // Used by @CreateRequestContext: every notification gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
  ) {}

  @CreateRequestContext()
  async apply(body: unknown, transport: NotificationTransport): Promise<StorageEventOutcome[]> {
    let events;
    try {
      ({ events } = normalizeStorageNotification(body));
    } catch (e) {
      if (!(e instanceof MalformedNotification)) throw e;
      Metrics.storageEventsReceived.inc({ transport });
      Metrics.storageEventsOutcomes.inc({ transport, outcome: 'dead-lettered' });
      throw new UnreadableNotification(e.message);
    }
    Metrics.storageEventsReceived.inc({ transport }, events.length);
    const outcomes: StorageEventOutcome[] = [];
    for (const event of events) {
      // Logs of this event carry the upload's id (the session id prefixes every key we make).
      const outcome = await Correlation.run(sessionIdFromKey(event.key) ?? undefined, async () => {
        try {
          const outcome = await this.applyStorageEvent.execute(event);
          this.logger.log({ msg: 'storage event applied', transport, eventName: event.eventName, bucket: event.bucket, key: event.key, outcome });
          return outcome;
        } catch (e) {
          const disposition = toMessageDisposition(e);
          if (disposition instanceof DeadLetter) Metrics.storageEventsOutcomes.inc({ transport, outcome: 'dead-lettered' });
          throw disposition;
        }
      });
      Metrics.storageEventsOutcomes.inc({ transport, outcome });
      outcomes.push(outcome);
    }
    return outcomes;
  }
}
