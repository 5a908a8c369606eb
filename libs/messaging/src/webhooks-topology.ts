import type { Channel } from 'amqplib';
import { Topology, WebhookTopology } from '@app/contracts';
import { queueTypeArgs } from './queue-type';
import type { TopologySettings } from './topology';

/**
 * The webhook delivery's own queue: every domain event ('#'), consumed by the delivering app, with its
 * dead-letter queue. Declared with the rest of the topology by every app (so no event published before the
 * delivering app first starts is lost to it).
 */
export async function declareWebhookTopology(ch: Channel, names: TopologySettings): Promise<void> {
  const typed = queueTypeArgs(names.queueMode);
  await ch.assertQueue(WebhookTopology.eventsDeadQueue, { durable: true, arguments: typed });
  await ch.bindQueue(WebhookTopology.eventsDeadQueue, Topology.deadLetterExchange, WebhookTopology.eventsDeadQueue);
  await ch.assertQueue(WebhookTopology.eventsQueue, {
    durable: true,
    arguments: { ...typed, 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': WebhookTopology.eventsDeadQueue },
  });
  await ch.bindQueue(WebhookTopology.eventsQueue, names.domainEventsExchange, '#');
}
