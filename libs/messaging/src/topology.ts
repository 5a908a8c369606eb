import type { ConfirmChannel } from 'amqplib';
import { JOB_QUEUE_MAX_PRIORITY, JOB_RETRY_DELAYS_MS, JOB_TYPES, jobDelayQueue, jobQueue, Topology } from '@app/contracts';
import { declareWebhookTopology } from './webhooks-topology';

export interface ExchangeNames {
  storageEventsExchange: string;
  domainEventsExchange: string;
}

/**
 * Declares everything every app may publish to or consume from. Idempotent, run on every (re)connect by
 * every app, so no message is ever published before its queue exists.
 */
export async function declareTopology(ch: ConfirmChannel, names: ExchangeNames): Promise<void> {
  const durableTopic = { durable: true } as const;
  await ch.assertExchange(names.storageEventsExchange, 'topic', durableTopic);
  await ch.assertExchange(names.domainEventsExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.jobsExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.jobsDelayExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.deadLetterExchange, 'direct', { durable: true });

  for (const dead of [Topology.storageNotificationsDeadQueue, Topology.jobsDeadQueue]) {
    await ch.assertQueue(dead, { durable: true });
    await ch.bindQueue(dead, Topology.deadLetterExchange, dead);
  }

  await ch.assertQueue(Topology.storageNotificationsQueue, {
    durable: true,
    arguments: { 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': Topology.storageNotificationsDeadQueue },
  });
  await ch.bindQueue(Topology.storageNotificationsQueue, names.storageEventsExchange, '#');

  for (const type of JOB_TYPES) {
    const queue = jobQueue(type);
    await ch.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-max-priority': JOB_QUEUE_MAX_PRIORITY,
        'x-dead-letter-exchange': Topology.deadLetterExchange,
        'x-dead-letter-routing-key': Topology.jobsDeadQueue,
      },
    });
    // `run.<TYPE>` now, `delay<ms>ms.<TYPE>` when coming back from a delay queue.
    await ch.bindQueue(queue, Topology.jobsExchange, `*.${type}`);
  }
  for (const ms of JOB_RETRY_DELAYS_MS) {
    const queue = jobDelayQueue(ms);
    // Every message in a stage waits the same time, so expiry at the head never blocks a shorter wait.
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-message-ttl': ms, 'x-dead-letter-exchange': Topology.jobsExchange } });
    await ch.bindQueue(queue, Topology.jobsDelayExchange, `delay${ms}ms.*`);
  }
  // Outgoing webhooks (issue 21): their own queue, bound to the domain events exchange.
  await declareWebhookTopology(ch, names);
}
