import { DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule, StorageEventsConfig } from '@app/config';
import { Topology } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { DomainCoreModule, ReconcileModule, StorageEventsModule } from '@app/domain';
import { HealthController, HealthModule } from '@app/health';
import { AmqpMessageAddressing, MessagingModule } from '@app/messaging';
import { MetricsController, ObservabilityModule } from '@app/observability';
import { StorageModule } from '@app/storage';
import { ReconcilerScheduler } from './reconciler.scheduler';
import { StorageEventsWebhookController } from './storage-events-webhook.controller';
import { StorageNotificationIntake } from './storage-notification.intake';
import { StorageNotificationsConsumer } from './storage-notifications.consumer';
import { WebhookDeliveryModule, webhookQueues } from './webhooks/webhook-delivery.module';

/** Storage notifications in (RabbitMQ or webhook); session state changes, jobs and events out (through the outbox); the reconciler. */
@Module({})
export class AppModule {
  static forRoot(config: StorageEventsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ app: 'storage-events', logLevel: config.logLevel }),
        DatabaseModule.forRoot(config.database.url, { keyedOnly: true }),
        MessagingModule.forRoot(config.amqp, {
          consumedQueues: [Topology.storageNotificationsQueue, Topology.storageNotificationsDeadQueue, ...webhookQueues(config)],
        }),
        StorageModule.forRoot(config.s3),
        HealthModule,
        DomainCoreModule.forRoot(new AmqpMessageAddressing(config.amqp.domainEventsExchange)),
        StorageEventsModule,
        ReconcileModule,
        WebhookDeliveryModule.forRoot(config),
      ],
      controllers: [StorageNotificationsConsumer, StorageEventsWebhookController, HealthController, MetricsController],
      providers: [StorageNotificationIntake, ReconcilerScheduler],
    };
  }
}
