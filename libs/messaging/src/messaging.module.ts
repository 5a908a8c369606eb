import { MikroORM } from '@mikro-orm/postgresql';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { OUTBOX_TRIGGER } from '@app/domain';
import { AmqpConnection, AmqpSettings } from './amqp-connection';
import { registerOutboxBacklogGauge, registerQueueDepthGauge } from './messaging.metrics';
import { OutboxRelay } from './outbox-relay';

export interface MessagingOptions {
  /** Queues whose depth /metrics reports (the ones this app consumes). */
  consumedQueues?: string[];
}

const MESSAGING_METRICS = Symbol('MessagingMetrics');

/** The broker connection, the outbox relay (which implements the domain's OutboxTrigger port) and their gauges. */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(settings: AmqpSettings, options: MessagingOptions = {}): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: AmqpConnection, useFactory: () => new AmqpConnection(settings) },
        { provide: OutboxRelay, inject: [MikroORM, AmqpConnection], useFactory: (orm: MikroORM, amqp: AmqpConnection) => new OutboxRelay(orm, amqp) },
        { provide: OUTBOX_TRIGGER, useExisting: OutboxRelay },
        {
          provide: MESSAGING_METRICS,
          inject: [MikroORM, AmqpConnection],
          useFactory: (orm: MikroORM, amqp: AmqpConnection) => [
            registerOutboxBacklogGauge(orm),
            ...(options.consumedQueues?.length ? [registerQueueDepthGauge(amqp, options.consumedQueues)] : []),
          ],
        },
      ],
      exports: [AmqpConnection, OutboxRelay, OUTBOX_TRIGGER],
    };
  }
}
