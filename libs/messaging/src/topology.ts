import type { Channel } from 'amqplib';
import {
  JOB_DEFAULT_BAND,
  JOB_PRIORITY_BANDS,
  JOB_QUEUE_MAX_PRIORITY,
  JOB_RETRY_DELAYS_MS,
  JOB_TYPES,
  jobBandQueue,
  jobDelayQueue,
  jobQueue,
  QueueMode,
  Topology,
} from '@app/contracts';
import { queueTypeArgs } from './queue-type';
import { declareWebhookTopology } from './webhooks-topology';

export interface ExchangeNames {
  storageEventsExchange: string;
  domainEventsExchange: string;
}

export interface TopologySettings extends ExchangeNames {
  /** classic (single node, the default) or quorum (replicated, for a cluster); see QueueMode. */
  queueMode?: QueueMode;
}

/** Where operators read how to change a queue's arguments (they cannot be changed in place). */
export const TOPOLOGY_MIGRATION_DOC = 'docs/operations.md#changing-the-rabbitmq-topology';

/**
 * The broker holds an exchange or queue declared with other arguments than this version declares (RabbitMQ
 * refuses to redeclare it: 406 PRECONDITION_FAILED). Names the object and the argument, and where the migration
 * path is written.
 */
export class TopologyMismatch extends Error {
  constructor(
    readonly brokerMessage: string,
    readonly object: string | null,
    readonly argument: string | null,
  ) {
    super(
      `RabbitMQ topology differs from what this version declares: ${object ? `${object}, ` : ''}${argument ? `argument ${argument}: ` : ''}${brokerMessage}. ` +
        `Queue arguments cannot change in place; see ${TOPOLOGY_MIGRATION_DOC} for the migration.`,
    );
    this.name = 'TopologyMismatch';
  }

  /** The mismatch a declaration failed with, or null when it failed for another reason. */
  static from(e: unknown): TopologyMismatch | null {
    const message = e instanceof Error ? e.message : String(e);
    if (!/PRECONDITION[_-]FAILED/.test(message)) return null;
    const reason = /PRECONDITION_FAILED - ([^"]*)/.exec(message)?.[1] ?? message;
    // "inequivalent arg 'x-max-priority' for queue 'jobs.validation' in vhost '/': received … but current is …"
    const argument = /inequivalent arg '([^']+)'/.exec(reason)?.[1] ?? null;
    const object = /for (queue|exchange) '([^']+)'/.exec(reason);
    return new TopologyMismatch(reason, object ? `${object[1]} ${object[2]}` : null, argument);
  }
}

/**
 * Declares everything every app may publish to or consume from. Idempotent; run once per connection by each
 * app (on a channel of its own, before any other channel opens), so no message is ever published before its
 * queue exists.
 * WARNING: queue arguments (max priority, dead-lettering, TTLs) are fixed when a queue is first declared; a
 * version declaring other arguments is refused by the broker (TopologyMismatch). See TOPOLOGY_MIGRATION_DOC.
 */
export async function declareTopology(ch: Channel, names: TopologySettings): Promise<void> {
  const mode = names.queueMode ?? 'classic';
  const typed = queueTypeArgs(mode);
  const durableTopic = { durable: true } as const;
  await ch.assertExchange(names.storageEventsExchange, 'topic', durableTopic);
  await ch.assertExchange(names.domainEventsExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.jobsExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.jobsDelayExchange, 'topic', durableTopic);
  await ch.assertExchange(Topology.deadLetterExchange, 'direct', { durable: true });

  for (const dead of [Topology.storageNotificationsDeadQueue, Topology.jobsDeadQueue]) {
    await ch.assertQueue(dead, { durable: true, arguments: typed });
    await ch.bindQueue(dead, Topology.deadLetterExchange, dead);
  }

  await ch.assertQueue(Topology.storageNotificationsQueue, {
    durable: true,
    arguments: { ...typed, 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': Topology.storageNotificationsDeadQueue },
  });
  await ch.bindQueue(Topology.storageNotificationsQueue, names.storageEventsExchange, '#');

  const deadLettered = { 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': Topology.jobsDeadQueue };
  for (const type of JOB_TYPES) {
    if (mode === 'classic') {
      const queue = jobQueue(type);
      await ch.assertQueue(queue, { durable: true, arguments: { ...typed, 'x-max-priority': JOB_QUEUE_MAX_PRIORITY, ...deadLettered } });
      // `run.<TYPE>.<priority>` now, `delay<ms>ms.<TYPE>.<priority>` back from a delay queue; without the priority from older producers.
      await ch.bindQueue(queue, Topology.jobsExchange, `*.${type}`);
      await ch.bindQueue(queue, Topology.jobsExchange, `*.${type}.*`);
      continue;
    }
    // Quorum queues of RabbitMQ 3.x have no priorities: one queue per band, bound to the priorities it takes.
    for (const band of JOB_PRIORITY_BANDS) {
      const queue = jobBandQueue(type, band.name);
      await ch.assertQueue(queue, { durable: true, arguments: { ...typed, ...deadLettered } });
      for (const p of band.priorities) await ch.bindQueue(queue, Topology.jobsExchange, `*.${type}.${p}`);
      if (band.name === JOB_DEFAULT_BAND) await ch.bindQueue(queue, Topology.jobsExchange, `*.${type}`);
    }
  }
  for (const ms of JOB_RETRY_DELAYS_MS) {
    const queue = jobDelayQueue(ms);
    // Every message in a stage waits the same time, so expiry at the head never blocks a shorter wait. Quorum: the
    // expired message is dead-lettered at least once (kept until the jobs exchange's queue has confirmed it), which
    // RabbitMQ allows only with reject-publish overflow.
    const expiry = { 'x-message-ttl': ms, 'x-dead-letter-exchange': Topology.jobsExchange };
    await ch.assertQueue(queue, {
      durable: true,
      arguments: { ...typed, ...expiry, ...(mode === 'quorum' ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {}) },
    });
    await ch.bindQueue(queue, Topology.jobsDelayExchange, `delay${ms}ms.*`);
    await ch.bindQueue(queue, Topology.jobsDelayExchange, `delay${ms}ms.*.*`);
  }
  // Outgoing webhooks (issue 21): their own queue, bound to the domain events exchange.
  await declareWebhookTopology(ch, names);
}
