import { JobType } from './statuses';

/**
 * RabbitMQ topology: every exchange, queue and routing key the apps use.
 * WARNING: these names are persisted in the broker (durable queues, bindings, the store's notification
 * wiring). Renaming one needs a migration plan: declare the new, drain the old, then delete it.
 */
export const Topology = Object.freeze({
  /** Inbound storage notifications are consumed from this queue (bound to the storage events exchange with '#'). */
  storageNotificationsQueue: 'storage-events.notifications',
  /** Notifications that can never be applied end here, with their reason in the headers. */
  storageNotificationsDeadQueue: 'storage-events.notifications.dead',

  /** Jobs: a topic exchange; routing key `<stage>.<JobType>` (stage `run` or a delay stage). */
  jobsExchange: 'jobs',
  /** Delayed retries: messages wait in a delay queue, then dead-letter back into the jobs exchange. */
  jobsDelayExchange: 'jobs.delay',
  jobsDeadQueue: 'jobs.dead',
  /** Dead-letter exchange shared by our queues (direct; routing key = the dead queue's name). */
  deadLetterExchange: 'dead-letter',
});

/** The queue of one job type; consumed by the processors configured for that type. */
export function jobQueue(type: JobType): string {
  return `jobs.${type.toLowerCase()}`;
}

/** Routing key a job message is published with to run now. */
export function jobRoutingKey(type: JobType): string {
  return `run.${type}`;
}

/** Delay ladder for retries (ms). A retry waits in the first stage at least as long as the backoff asks. */
export const JOB_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000];

/** The delay stage a wish of `ms` waits in: the smallest stage at least as long (capped at the longest). */
export function jobDelayStage(ms: number): number {
  return JOB_RETRY_DELAYS_MS.find((d) => d >= ms) ?? JOB_RETRY_DELAYS_MS[JOB_RETRY_DELAYS_MS.length - 1];
}

export function jobDelayQueue(delayMs: number): string {
  return `jobs.delay.${delayMs}ms`;
}

export function jobDelayRoutingKey(delayMs: number, type: JobType): string {
  return `delay${delayMs}ms.${type}`;
}

/** AMQP priorities: the job's priority 1 (most urgent) .. 10 maps to AMQP 10 .. 1. */
export const JOB_QUEUE_MAX_PRIORITY = 10;
export function amqpPriorityOf(jobPriority: number): number {
  const clamped = Math.min(10, Math.max(1, Math.round(jobPriority)));
  return JOB_QUEUE_MAX_PRIORITY + 1 - clamped;
}
