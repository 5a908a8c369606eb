import { Logger } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { isObservable, lastValueFrom } from 'rxjs';
import { MessagePattern } from '@app/contracts';
import { Correlation, Metrics } from '@app/observability';
import { AckBatcher } from './ack-batcher';
import { AmqpConnection, ManagedChannel } from './amqp-connection';
import { DeadLetter, RetryLater } from './consumer-errors';
import { PriorityGate } from './priority-gate';

export interface Subscription {
  queue: string;
  /** Handlers registered with @EventPattern(pattern) receive this queue's messages. */
  pattern: MessagePattern;
  /** Messages in flight at once for this queue (the consumer's concurrency). */
  prefetch: number;
  /** Queue that takes what can never be processed. */
  deadLetterQueue: string;
  /** Slots shared with the other queues of the same gate (priority bands); `rank` 0 gets a freed slot first. */
  gate?: PriorityGate;
  rank?: number;
}

/** Handler context: the raw message and the queue it came from. */
export class AmqpContext extends BaseRpcContext<[ConsumeMessage, string]> {
  get message(): ConsumeMessage {
    return this.args[0];
  }
  get queue(): string {
    return this.args[1];
  }
}

const MAX_UNEXPECTED_FAILURES = 5;

function correlationIdOf(msg: ConsumeMessage): string | undefined {
  const id = msg.properties.correlationId ?? msg.properties.headers?.['x-correlation-id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}
const RETRY_HEADER = 'x-failures';

/**
 * A Nest transport strategy on RabbitMQ: consumes the given queues (each on a channel that is reopened when the
 * broker closes it), hands each message to its @EventPattern handler, and acks only after the handler (and so
 * its transaction) has finished. A message the handler rejects with DeadLetter, or that is not JSON, is
 * dead-lettered with its reason; RetryLater requeues after its pause; any other error is retried a few times,
 * then dead-lettered. The consumer itself never dies on a message.
 *
 * Shutdown: consumers are cancelled by tag at the signal (AmqpConnection.beforeApplicationShutdown); a delivery
 * still arriving is handed back (nack, requeue); handlers in flight are awaited; then the connection's drain
 * hooks run (the outbox relay publishes what the shutdown itself wrote) before anything closes.
 */
export class AmqpServer extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('AmqpServer');
  private readonly channels: ManagedChannel[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /** Channels closed since they delivered: a message still waiting in a gate for one of them is the broker's again. */
  private readonly closedChannels = new WeakSet<ConfirmChannel>();
  /**
   * Each pattern's handler, looked up once at start-up: Nest's lookup JSON.parses the pattern and, for a plain
   * string, throws and catches on every call (5% of storage-events' CPU at 100 files/s when done per message).
   */
  private readonly handlers = new Map<MessagePattern, MessageHandler>();
  /** Each open channel's deliveries, settled through it: acks finished together go as one. */
  private readonly settlers = new Map<ConfirmChannel, AckBatcher>();

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly subscriptions: Subscription[],
  ) {
    super();
  }

  /** Two handlers for one pattern would make delivery ambiguous: refuse at start-up. */
  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler = false, extras: Record<string, unknown> = {}): void {
    const key = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
    if (this.messageHandlers.has(key)) throw new Error(`Two handlers for message pattern "${key}"`);
    super.addHandler(pattern, callback, isEventHandler, extras);
  }

  listen(callback: (...optionalParams: unknown[]) => void): void {
    for (const s of this.subscriptions) {
      const handler = this.getHandlerByPattern(s.pattern);
      if (handler) this.handlers.set(s.pattern, handler);
    }
    const missing = this.subscriptions.filter((s) => !this.handlers.has(s.pattern)).map((s) => s.pattern);
    if (missing.length > 0) {
      callback(new Error(`No handler for consumed message pattern(s): ${[...new Set(missing)].join(', ')}`));
      return;
    }
    // Queues sharing a gate (a job type's priority bands) share a channel, their consumers set up in rank order: the
    // highest band consumes first, so its messages are in hand first at every (re)start.
    const groups = new Map<unknown, Subscription[]>();
    for (const sub of this.subscriptions) groups.set(sub.gate ?? sub, [...(groups.get(sub.gate ?? sub) ?? []), sub]);
    for (const group of groups.values()) {
      group.sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
      this.channels.push(
        this.amqp.channel(`consume ${group.map((s) => s.queue).join(', ')}`, async (ch, managed) => {
          ch.once('close', () => {
            this.closedChannels.add(ch);
            this.settlers.delete(ch);
          });
          this.settlers.set(
            ch,
            new AckBatcher(ch, (e) => this.logger.warn(`could not ack messages (channel closed?): ${e instanceof Error ? e.message : String(e)}`)),
          );
          for (const sub of group) {
            // Per consumer (global=false): each band has its own prefetch.
            await ch.prefetch(sub.prefetch);
            await managed.consume(ch, sub.queue, (msg) => this.onMessage(ch, sub, msg));
          }
        }),
      );
    }
    this.logger.log(`consuming ${this.subscriptions.map((s) => `${s.queue} (x${s.prefetch})`).join(', ')}`);
    callback();
  }

  /** Stop taking messages, let in-flight ones finish, publish what they wrote, then close the channels. */
  async close(): Promise<void> {
    await this.amqp.stopConsuming();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    for (const s of this.settlers.values()) s.flush();
    await this.amqp.drain();
    for (const s of this.settlers.values()) s.flush();
    await Promise.all(this.channels.map((c) => c.close()));
  }

  on(): void {
    // Connection events are logged by AmqpConnection.
  }

  unwrap<T>(): T {
    return this.amqp as T;
  }

  private onMessage(ch: ConfirmChannel, sub: Subscription, msg: ConsumeMessage): void {
    this.settlerOf(ch).delivered(msg);
    // Arrived after the signal (sent before the consumer's cancel reached the broker): back to the queue, untouched.
    if (!this.amqp.consuming) return this.requeue(ch, msg);
    // Each message runs in its own correlation scope: the upload's id when the producer set one.
    const p = Correlation.run(correlationIdOf(msg), () => (sub.gate ? this.handleGated(ch, sub, sub.gate, msg) : this.handle(ch, sub, msg)));
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** Waits for a slot of the gate (higher bands first); a message still waiting when consumption stops goes back untouched. */
  private async handleGated(ch: ConfirmChannel, sub: Subscription, gate: PriorityGate, msg: ConsumeMessage): Promise<void> {
    const release = await gate.acquire(sub.rank ?? 0);
    try {
      // Its channel closed while it waited: the broker has redelivered it (or will), nothing to run or settle here.
      if (this.closedChannels.has(ch)) return;
      if (!this.amqp.consuming) return this.requeue(ch, msg);
      await this.handle(ch, sub, msg);
    } finally {
      release();
    }
  }

  private async handle(ch: ConfirmChannel, sub: Subscription, msg: ConsumeMessage): Promise<void> {
    let data: unknown;
    try {
      data = JSON.parse(msg.content.toString('utf8'));
    } catch {
      return this.deadLetter(ch, sub, msg, 'body is not valid JSON');
    }
    const handler = this.handlers.get(sub.pattern)!;
    try {
      const result: unknown = await handler(data, new AmqpContext([msg, sub.queue]));
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
      this.settlerOf(ch).ack(msg);
      Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'acked' });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof DeadLetter) return this.deadLetter(ch, sub, msg, reason, e.body);
      if (e instanceof RetryLater) {
        if (e.delayMs > 0) this.logger.warn(`requeueing a message of ${sub.queue} in ${e.delayMs} ms: ${reason}`);
        Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'requeued' });
        if (e.delayMs > 0) await new Promise((r) => setTimeout(r, e.delayMs));
        return this.requeue(ch, msg);
      }
      const failures = Number(msg.properties.headers?.[RETRY_HEADER] ?? 0) + 1;
      if (failures >= MAX_UNEXPECTED_FAILURES) return this.deadLetter(ch, sub, msg, `failed ${failures} times, last: ${reason}`);
      Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'retried' });
      this.logger.error(
        `message of ${sub.queue} failed (${failures}/${MAX_UNEXPECTED_FAILURES}), retrying: ${reason}`,
        e instanceof Error ? e.stack : undefined,
      );
      await new Promise((r) => setTimeout(r, 500 * failures));
      await this.republish(ch, sub.queue, msg, { [RETRY_HEADER]: String(failures), 'x-last-error': reason.slice(0, 500) });
    }
  }

  /** Publishes a copy (confirmed) to the dead-letter queue with the reason, then acks the original. */
  private async deadLetter(ch: ConfirmChannel, sub: Subscription, msg: ConsumeMessage, reason: string, content = msg.content): Promise<void> {
    this.logger.warn(`dead-lettering a message of ${sub.queue}: ${reason}`);
    Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'dead-lettered' });
    await this.republish(ch, sub.deadLetterQueue, { ...msg, content }, { 'x-dead-letter-reason': reason.slice(0, 1000), 'x-original-queue': sub.queue }, msg);
  }

  private async republish(ch: ConfirmChannel, queue: string, copy: ConsumeMessage, headers: Record<string, string>, original = copy): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) =>
        ch.sendToQueue(queue, copy.content, { ...copy.properties, persistent: true, headers: { ...copy.properties.headers, ...headers } }, (err) =>
          err ? reject(err) : resolve(),
        ),
      );
      this.settlerOf(ch).ack(original);
    } catch (e) {
      // Not confirmed: leave the original unacked; the broker redelivers it.
      this.logger.error(`could not republish to ${queue}: ${e instanceof Error ? e.message : String(e)}`);
      this.requeue(ch, original);
    }
  }

  /** A channel's settler; a closed channel's is a fresh one (its acks throw, and are logged: the broker redelivers). */
  private settlerOf(ch: ConfirmChannel): AckBatcher {
    return (
      this.settlers.get(ch) ??
      new AckBatcher(ch, (e) => this.logger.warn(`could not ack messages (channel closed?): ${e instanceof Error ? e.message : String(e)}`))
    );
  }

  /** Back to its queue, untouched. */
  private requeue(ch: ConfirmChannel, msg: ConsumeMessage): void {
    this.settle(() => this.settlerOf(ch).nack(msg, true));
  }

  /** Acks on a channel that died with its connection throw; the broker redelivers those messages anyway. */
  private settle(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.logger.warn(`could not settle a message (channel closed?): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
