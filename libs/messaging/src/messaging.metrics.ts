import { MikroORM } from '@mikro-orm/postgresql';
import { Gauge, register } from 'prom-client';
import { AmqpConnection } from './amqp-connection';

/** Scrapes come every few seconds from every replica: the database and broker are asked at most this often. */
const CACHE_MS = 5_000;

/** `load`, asked at most once per CACHE_MS (a failed load is asked again at once). */
export function cached<T>(load: () => Promise<T>): () => Promise<T> {
  let value: { at: number; result: Promise<T> } | null = null;
  return () => {
    if (!value || Date.now() - value.at > CACHE_MS) {
      const result = load();
      value = { at: Date.now(), result };
      result.catch(() => (value = null));
    }
    return value.result;
  };
}

/**
 * Outbox rows not yet published: a growing backlog means the broker is unreachable or the relay is stuck.
 * A count on a table that the relay keeps near empty is cheap; cached anyway.
 */
export function registerOutboxBacklogGauge(orm: MikroORM): Gauge {
  const count = cached(async () => {
    const [row] = await orm.em.fork().getConnection().execute<{ n: string }[]>('select count(*) as n from outbox_message');
    return Number(row.n);
  });
  register.removeSingleMetric('outbox_backlog_messages');
  return new Gauge({
    name: 'outbox_backlog_messages',
    help: 'Messages written to the outbox and not yet published to RabbitMQ',
    async collect() {
      this.set(await count().catch(() => Number.NaN));
    },
  });
}

/** Messages ready in the queues this process consumes (checkQueue on one channel: no management API needed). */
export function registerQueueDepthGauge(amqp: AmqpConnection, queues: string[]): Gauge<'queue'> {
  const depths = cached(async () => {
    const out: Record<string, number> = {};
    for (const queue of queues) out[queue] = (await amqp.checkQueue(queue)).messageCount;
    return out;
  });
  register.removeSingleMetric('rabbitmq_queue_messages_ready');
  return new Gauge({
    name: 'rabbitmq_queue_messages_ready',
    help: 'Messages ready for delivery in a queue this app consumes',
    labelNames: ['queue'] as const,
    async collect() {
      this.reset();
      if (!amqp.isConnected()) return;
      const result = await depths().catch(() => null);
      for (const [queue, n] of Object.entries(result ?? {})) this.set({ queue }, n);
    },
  });
}
