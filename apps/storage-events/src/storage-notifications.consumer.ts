import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { MessagePattern } from '@app/contracts';
import { StorageEventOutcome } from '@app/domain';
import { PassThroughRpcExceptions } from '@app/messaging';
import { StorageNotificationIntake } from './storage-notification.intake';

/** Storage notifications over RabbitMQ (the store publishes to the storage events exchange). */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class StorageNotificationsConsumer {
  constructor(private readonly intake: StorageNotificationIntake) {}

  @EventPattern(MessagePattern.StorageNotification)
  handle(@Payload() body: unknown): Promise<StorageEventOutcome[]> {
    return this.intake.apply(body, 'amqp');
  }
}
