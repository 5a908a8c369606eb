import { MikroORM } from '@mikro-orm/postgresql';
import { DynamicModule, Module } from '@nestjs/common';
import { StorageEventsConfig } from '@app/config';
import { MessagePattern, WebhookTopology } from '@app/contracts';
import { WebhooksModule } from '@app/domain';
import { Subscription } from '@app/messaging';
import { registerWebhookBacklogGauge, WebhooksInfraModule } from '@app/webhooks';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventsConsumer } from './webhook-events.consumer';

const WEBHOOK_METRICS = Symbol('WebhookMetrics');

/** The queues this app consumes for webhooks (none when WEBHOOK_DELIVERY=off), for the AMQP server and the depth gauge. */
export function webhookSubscriptions(config: StorageEventsConfig): Subscription[] {
  if (config.webhooks.delivery === 'off') return [];
  return [
    {
      queue: WebhookTopology.eventsQueue,
      pattern: MessagePattern.WebhookEvent,
      prefetch: config.webhooks.prefetch,
      deadLetterQueue: WebhookTopology.eventsDeadQueue,
    },
  ];
}

export function webhookQueues(config: StorageEventsConfig): string[] {
  return config.webhooks.delivery === 'off' ? [] : [WebhookTopology.eventsQueue, WebhookTopology.eventsDeadQueue];
}

/**
 * Outgoing webhook delivery, as a module of its own in storage-events (why this app: see the README):
 * the consumer of `webhooks.events` and the dispatcher of attempts. Imported only when WEBHOOK_DELIVERY
 * is on or only.
 */
@Module({})
export class WebhookDeliveryModule {
  static forRoot(config: StorageEventsConfig): DynamicModule {
    const w = config.webhooks;
    if (w.delivery === 'off') return { module: WebhookDeliveryModule };
    return {
      module: WebhookDeliveryModule,
      imports: [
        WebhooksInfraModule.forRoot({ targets: config.webhookTargets, timeoutMs: w.timeoutMs }),
        WebhooksModule.delivery({
          retryScheduleMs: w.retryScheduleMs,
          disableAfterMs: w.disableAfterMs,
          leaseMs: w.leaseMs,
          endpointConcurrency: w.endpointConcurrency,
        }),
      ],
      controllers: [WebhookEventsConsumer],
      providers: [WebhookDispatcher, { provide: WEBHOOK_METRICS, inject: [MikroORM], useFactory: registerWebhookBacklogGauge }],
    };
  }
}
