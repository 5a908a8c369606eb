import type { Channel } from 'amqplib';
import { Topology, WebhookTopology } from '@app/contracts';
import { queueTypeArgs } from './queue-type';
import type { TopologySettings } from './topology';

/**
 * The webhook delivery's former queue and its dead-letter queue. Domain events no longer go there: the outbox
 * relay records them as deliveries in Postgres when it retires their rows (WebhookDeliveries.retirePublished), so
 * an event nobody subscribed to costs no broker delivery. Versions before that bound the queue to every domain
 * event ('#'): the binding is removed here, and the delivering app still consumes what those versions left in
 * the queue (recording is idempotent).
 */
export async function declareWebhookTopology(ch: Channel, names: TopologySettings): Promise<void> {
  const typed = queueTypeArgs(names.queueMode);
  await ch.assertQueue(WebhookTopology.eventsDeadQueue, { durable: true, arguments: typed });
  await ch.bindQueue(WebhookTopology.eventsDeadQueue, Topology.deadLetterExchange, WebhookTopology.eventsDeadQueue);
  await ch.assertQueue(WebhookTopology.eventsQueue, {
    durable: true,
    arguments: { ...typed, 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': WebhookTopology.eventsDeadQueue },
  });
  // Idempotent: RabbitMQ answers unbind-ok for a binding that does not exist.
  await ch.unbindQueue(WebhookTopology.eventsQueue, names.domainEventsExchange, '#');
}
