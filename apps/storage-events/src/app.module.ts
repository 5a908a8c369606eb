import { DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule, StorageEventsConfig, StorageEventsEnv } from '@app/config';
import { DatabaseModule } from '@app/database';
import { DomainCoreModule, ReconcileModule, StorageEventsModule } from '@app/domain';
import { HealthController } from '@app/health';
import { MessagingModule } from '@app/messaging';
import { StorageModule } from '@app/storage';
import { ReconcilerScheduler } from './reconciler.scheduler';
import { StorageNotificationsConsumer } from './storage-notifications.consumer';

/** Storage notifications in; session state changes, jobs and events out (through the outbox); the reconciler. */
@Module({})
export class AppModule {
  static forRoot(config: StorageEventsConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(StorageEventsEnv, config),
        DatabaseModule.forRoot(config.database.url),
        MessagingModule.forRoot(config.amqp),
        StorageModule.forRoot(config.s3),
        DomainCoreModule.forRoot({ domainEventsExchange: config.amqp.domainEventsExchange }),
        StorageEventsModule,
        ReconcileModule,
      ],
      controllers: [StorageNotificationsConsumer, HealthController],
      providers: [ReconcilerScheduler],
    };
  }
}
