import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { Controller, Logger, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { MessagePattern } from '@app/contracts';
import { ApplyStorageEventUseCase, StorageEventOutcome } from '@app/domain';
import { DeadLetter, MalformedNotification, normalizeStorageNotification, PassThroughRpcExceptions, toMessageDisposition } from '@app/messaging';

/** Storage notifications in (MinIO, AWS S3 or Ceph RGW shape) → session state changes. */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class StorageNotificationsConsumer {
  private readonly logger = new Logger('StorageNotifications');

  constructor(
    // Used by @CreateRequestContext: every message gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly applyStorageEvent: ApplyStorageEventUseCase,
  ) {}

  @EventPattern(MessagePattern.StorageNotification)
  @CreateRequestContext()
  async handle(@Payload() body: unknown): Promise<StorageEventOutcome[]> {
    let events;
    try {
      ({ events } = normalizeStorageNotification(body));
    } catch (e) {
      if (e instanceof MalformedNotification) throw new DeadLetter(e.message);
      throw e;
    }
    const outcomes: StorageEventOutcome[] = [];
    for (const event of events) {
      try {
        const outcome = await this.applyStorageEvent.execute(event);
        outcomes.push(outcome);
        this.logger.log({ msg: 'storage event applied', eventName: event.eventName, bucket: event.bucket, key: event.key, outcome });
      } catch (e) {
        throw toMessageDisposition(e);
      }
    }
    return outcomes;
  }
}
