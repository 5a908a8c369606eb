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

/**
 * Routing key a job message is published with to run now: `run.<TYPE>.<priority>` (the job's priority 1..10, so
 * the quorum mode's bindings pick its band); `run.<TYPE>` without one (older producers, raw test messages).
 */
export function jobRoutingKey(type: JobType, priority?: number): string {
  return priority === undefined ? `run.${type}` : `run.${type}.${clampPriority(priority)}`;
}

/**
 * How the queues are declared. `classic`: one node's queues (the single-node default), one queue per job type with
 * AMQP priorities. `quorum`: replicated quorum queues that survive the loss of a cluster node; RabbitMQ 3.x quorum
 * queues have no priorities, so each job type gets one queue per priority band (JOB_PRIORITY_BANDS), which the
 * processors drain highest band first.
 */
export type QueueMode = 'classic' | 'quorum';
export const QUEUE_MODES: readonly QueueMode[] = ['classic', 'quorum'];

/** The quorum mode's priority bands of jobs, highest first: the job priorities each band takes. */
export const JOB_PRIORITY_BANDS: readonly { name: string; priorities: readonly number[] }[] = [
  { name: 'high', priorities: [1, 2, 3] },
  { name: 'normal', priorities: [4, 5, 6, 7] },
  { name: 'low', priorities: [8, 9, 10] },
];
/** Band of messages whose routing key names no priority (`run.<TYPE>`). */
export const JOB_DEFAULT_BAND = 'normal';

/** A job type's queue of one band (quorum mode): `jobs.<type>.<band>`. */
export function jobBandQueue(type: JobType, band: string): string {
  return `${jobQueue(type)}.${band}`;
}

/** Every queue holding a job type's messages, highest priority first: one in classic mode, one per band in quorum mode. */
export function jobQueuesOf(type: JobType, mode: QueueMode): string[] {
  return mode === 'quorum' ? JOB_PRIORITY_BANDS.map((b) => jobBandQueue(type, b.name)) : [jobQueue(type)];
}

function clampPriority(priority: number): number {
  return Math.min(10, Math.max(1, Math.round(priority)));
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

/** `delay<ms>ms.<TYPE>.<priority>`: dead-lettered back into the jobs exchange with this key, so the job keeps its band. */
export function jobDelayRoutingKey(delayMs: number, type: JobType, priority?: number): string {
  return priority === undefined ? `delay${delayMs}ms.${type}` : `delay${delayMs}ms.${type}.${clampPriority(priority)}`;
}

/** AMQP priorities: the job's priority 1 (most urgent) .. 10 maps to AMQP 10 .. 1. */
export const JOB_QUEUE_MAX_PRIORITY = 10;
export function amqpPriorityOf(jobPriority: number): number {
  return JOB_QUEUE_MAX_PRIORITY + 1 - clampPriority(jobPriority);
}
