import { DynamicModule, Module } from '@nestjs/common';
import { AppConfigModule, JobProcessorConfig } from '@app/config';
import { jobQueuesOf, JobType, Topology } from '@app/contracts';
import { DatabaseModule } from '@app/database';
import { DomainCoreModule } from '@app/domain';
import { JobsModule } from '@app/processing';
import { HealthController, HealthModule } from '@app/health';
import { AmqpMessageAddressing, MessagingModule } from '@app/messaging';
import { MetricsController, ObservabilityModule } from '@app/observability';
import { StorageModule } from '@app/storage';
import { JobsConsumer } from './jobs.consumer';

/** Runs processing jobs of the configured types. */
@Module({})
export class AppModule {
  static forRoot(config: JobProcessorConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ app: 'job-processor', logLevel: config.logLevel }),
        // Its statements are the job path's few, called thousands of times a minute: planned once per connection.
        DatabaseModule.forRoot(config.database.url, { genericPlans: true, keyedOnly: true }),
        MessagingModule.forRoot(config.amqp, {
          consumedQueues: [...config.jobTypes.flatMap((t) => jobQueuesOf(t, config.amqp.queueMode)), Topology.jobsDeadQueue],
        }),
        StorageModule.forRoot(config.s3),
        HealthModule,
        DomainCoreModule.forRoot(new AmqpMessageAddressing(config.amqp.domainEventsExchange)),
        // Jobs still running a third into the shutdown deadline are released to other processors.
        JobsModule.forRoot({
          leaseMs: config.leaseMs,
          leaseRenewalMs: config.leaseRenewalMs,
          releaseAfterMs: Math.floor(config.shutdownTimeoutMs / 3),
          timeoutMs: config.timeoutMs,
          thumbnailSize: config.thumbnailSize,
          maxImagePixels: config.maxImagePixels,
          consumedTypes: config.jobTypes,
          concurrency: Object.fromEntries(config.jobTypes.map((t) => [t, t === JobType.THUMBNAIL ? config.thumbnailConcurrency : config.concurrency])),
        }),
      ],
      controllers: [JobsConsumer, HealthController, MetricsController],
    };
  }
}
