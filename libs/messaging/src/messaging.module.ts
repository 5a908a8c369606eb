import { MikroORM } from '@mikro-orm/postgresql';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { JobType, jobQueuesOf } from '@app/contracts';
import { JOB_QUEUES, JobQueues, OUTBOX_TRIGGER, SQL_DATABASE } from '@app/domain';
import type { PgSqlDatabase } from '@app/database';
import { AmqpConnection, AmqpSettings } from './amqp-connection';
import { registerOutboxBacklogGauge, registerQueueDepthGauge } from './messaging.metrics';
import { DEFAULT_OUTBOX_RELAY_SETTINGS, OutboxRelay } from './outbox-relay';

export interface MessagingOptions {
  /** Queues whose depth /metrics reports (the ones this app consumes). */
  consumedQueues?: string[];
}

const MESSAGING_METRICS = Symbol('MessagingMetrics');

/**
 * The broker connection, the outbox relay (which implements the domain's OutboxTrigger port), the job queues'
 * depth (the domain's JobQueues port) and their gauges.
 */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(settings: AmqpSettings, options: MessagingOptions = {}): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: AmqpConnection, useFactory: () => new AmqpConnection(settings) },
        {
          provide: OutboxRelay,
          inject: [SQL_DATABASE, AmqpConnection],
          useFactory: (db: PgSqlDatabase, amqp: AmqpConnection) =>
            new OutboxRelay(db, amqp, { ...DEFAULT_OUTBOX_RELAY_SETTINGS, domainEventsExchange: settings.domainEventsExchange }),
        },
        { provide: OUTBOX_TRIGGER, useExisting: OutboxRelay },
        {
          provide: JOB_QUEUES,
          inject: [AmqpConnection],
          // A job type's ready messages over all its queues (its priority bands in quorum mode).
          useFactory: (amqp: AmqpConnection): JobQueues => ({
            readyMessages: async (type: JobType) => {
              const counts = await Promise.all(jobQueuesOf(type, settings.queueMode ?? 'classic').map(async (q) => (await amqp.checkQueue(q)).messageCount));
              return counts.reduce((a, b) => a + b, 0);
            },
          }),
        },
        {
          provide: MESSAGING_METRICS,
          inject: [MikroORM, AmqpConnection],
          useFactory: (orm: MikroORM, amqp: AmqpConnection) => [
            registerOutboxBacklogGauge(orm),
            ...(options.consumedQueues?.length ? [registerQueueDepthGauge(amqp, options.consumedQueues)] : []),
          ],
        },
      ],
      exports: [AmqpConnection, OutboxRelay, OUTBOX_TRIGGER, JOB_QUEUES],
    };
  }
}
