import { MikroORM } from '@mikro-orm/postgresql';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { OUTBOX_TRIGGER } from '@app/domain';
import { AmqpConnection, AmqpSettings } from './amqp-connection';
import { OutboxRelay } from './outbox-relay';

/** The broker connection and the outbox relay (which implements the domain's OutboxTrigger port). */
@Global()
@Module({})
export class MessagingModule {
  static forRoot(settings: AmqpSettings): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: AmqpConnection, useFactory: () => new AmqpConnection(settings) },
        { provide: OutboxRelay, inject: [MikroORM, AmqpConnection], useFactory: (orm: MikroORM, amqp: AmqpConnection) => new OutboxRelay(orm, amqp) },
        { provide: OUTBOX_TRIGGER, useExisting: OutboxRelay },
      ],
      exports: [AmqpConnection, OutboxRelay, OUTBOX_TRIGGER],
    };
  }
}
