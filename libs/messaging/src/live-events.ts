import { Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ManagedChannel } from './amqp-connection';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { DomainEventType } from '@app/contracts';
import { AmqpConnection } from './amqp-connection';

/** Routing keys a live stream shows: events about sessions, their jobs and groups (never `webhook.*`). */
export const LIVE_EVENT_TYPES: readonly string[] = Object.values(DomainEventType).filter((t) => /^(session|job|group)\./.test(t));

/** Who hears the feed: the gateway's stream hub. */
export interface LiveEventsListener {
  /** One domain event as published (the body is the envelope's JSON). */
  onEvent(routingKey: string, body: Buffer): void;
  /** The subscription was lost (channel closed, broker gone): events may have been missed since the last one. */
  onGap(): void;
}

/** The feed could not be (re)established in time: the broker is unreachable. */
export class LiveEventsUnavailable extends Error {
  constructor(timeoutMs: number) {
    super(`live events are unavailable: no broker subscription after ${timeoutMs} ms`);
    this.name = 'LiveEventsUnavailable';
  }
}

export interface LiveEventsFeedOptions {
  /** How long the subscription outlives its last user (a stream closing and another opening soon after share it). */
  lingerMs?: number;
}

/**
 * Domain events for this process only, while someone wants them: a server-named, exclusive, auto-delete
 * queue bound to the domain events exchange, consumed without acks (a live view, not a work queue: the
 * durable consumers own delivery guarantees, and a stream that may have missed something is ended so its
 * client reconnects for a fresh snapshot). Reference-counted: the queue exists from the first `acquire()`
 * until `lingerMs` after the last `release()`, so a process with no users has no queue and receives nothing.
 *
 * Routing keys carry the event type, not the session or group: every replica with users receives every
 * session, job and group event and picks its streams' ones in memory.
 */
export class LiveEventsFeed implements OnApplicationShutdown {
  private readonly logger = new Logger('LiveEventsFeed');
  private readonly lingerMs: number;
  private listener: LiveEventsListener | null = null;
  private users = 0;
  private wrapper: ManagedChannel | null = null;
  /** Bumped whenever the wrapper is replaced: a stale channel's close is not a gap of the current one. */
  private epoch = 0;
  private up = false;
  private queueName: string | null = null;
  private waiters: (() => void)[] = [];
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly exchange: string,
    options: LiveEventsFeedOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 10_000;
  }

  listen(listener: LiveEventsListener): void {
    this.listener = listener;
  }

  /** Whether this process holds a subscription now. */
  get active(): boolean {
    return this.wrapper !== null;
  }

  /** The server-named queue of the current subscription, once consumed (for operators and tests). */
  get queue(): string | null {
    return this.up ? this.queueName : null;
  }

  /** Takes a use of the feed; resolves once the queue is bound and consumed (throws LiveEventsUnavailable after `timeoutMs`). */
  async acquire(timeoutMs: number): Promise<void> {
    this.users++;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    if (!this.wrapper) this.open();
    if (this.up) return;
    let timer: NodeJS.Timeout | undefined;
    let waiter: (() => void) | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => {
        waiter = () => resolve(true);
        this.waiters.push(waiter);
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ready) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      this.release();
      throw new LiveEventsUnavailable(timeoutMs);
    }
  }

  /** Gives a use back; the last one closes the subscription after the linger time. */
  release(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0 || this.lingerTimer || !this.wrapper) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      if (this.users === 0) this.close();
    }, this.lingerMs);
    this.lingerTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.close();
  }

  private open(): void {
    const epoch = ++this.epoch;
    this.wrapper = this.amqp.channel('live events', async (ch: ConfirmChannel) => {
      if (epoch !== this.epoch) return;
      if (this.up) this.gap(); // set up again (a reconnect): whatever was published meanwhile is lost to us
      const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      for (const key of LIVE_EVENT_TYPES) await ch.bindQueue(queue, this.exchange, key);
      ch.once('close', () => {
        if (epoch === this.epoch && this.up) this.gap();
      });
      await ch.consume(queue, (msg) => this.deliver(msg, epoch), { noAck: true });
      this.queueName = queue;
      this.up = true;
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    });
  }

  private deliver(msg: ConsumeMessage | null, epoch: number): void {
    if (epoch !== this.epoch) return;
    if (msg === null) {
      // The broker cancelled our consumer (queue deleted under us): subscribe afresh.
      this.gap();
      this.close();
      if (this.users > 0) this.open();
      return;
    }
    this.listener?.onEvent(msg.fields.routingKey, msg.content);
  }

  private gap(): void {
    this.up = false;
    this.logger.warn('live events subscription lost; open streams are ended so their clients reconnect for a fresh snapshot');
    this.listener?.onGap();
  }

  private close(): void {
    const wrapper = this.wrapper;
    this.wrapper = null;
    this.up = false;
    this.epoch++;
    // Closing the channel cancels the consumer: the auto-delete queue goes with it.
    if (wrapper) void wrapper.close().catch(() => undefined);
  }
}
