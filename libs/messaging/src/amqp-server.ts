import { Logger } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, MessageHandler, Server } from '@nestjs/microservices';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { lastValueFrom } from 'rxjs';
import { MessagePattern } from '@app/contracts';
import { Correlation, Metrics } from '@app/observability';
import { AmqpConnection } from './amqp-connection';
import { DeadLetter, RetryLater } from './consumer-errors';

export interface Subscription {
  queue: string;
  /** Handlers registered with @EventPattern(pattern) receive this queue's messages. */
  pattern: MessagePattern;
  /** Messages in flight at once for this queue (the consumer's concurrency). */
  prefetch: number;
  /** Queue that takes what can never be processed. */
  deadLetterQueue: string;
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
 * A Nest transport strategy on RabbitMQ: consumes the given queues, hands each message to its
 * @EventPattern handler, and acks only after the handler (and so its transaction) has finished.
 * A message the handler rejects with DeadLetter, or that is not JSON, is dead-lettered with its reason;
 * RetryLater requeues after a pause; any other error is retried a few times, then dead-lettered.
 * The consumer itself never dies on a message.
 */
export class AmqpServer extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('AmqpServer');
  private readonly channels: ChannelWrapper[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private closing = false;

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
    const missing = this.subscriptions.filter((s) => !this.getHandlerByPattern(s.pattern)).map((s) => s.pattern);
    if (missing.length > 0) {
      callback(new Error(`No handler for consumed message pattern(s): ${[...new Set(missing)].join(', ')}`));
      return;
    }
    for (const sub of this.subscriptions) {
      this.channels.push(
        this.amqp.channel(`consume ${sub.queue}`, async (ch) => {
          await ch.prefetch(sub.prefetch);
          await ch.consume(
            sub.queue,
            // Each message runs in its own correlation scope: the upload's id when the producer set one.
            (msg) => msg && this.track(Correlation.run(correlationIdOf(msg), () => this.handle(ch, sub, msg))),
            { noAck: false },
          );
        }),
      );
    }
    this.logger.log(`consuming ${this.subscriptions.map((s) => `${s.queue} (x${s.prefetch})`).join(', ')}`);
    callback();
  }

  /** Stop taking messages, let in-flight ones finish (their unacked messages return to the queue otherwise). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.channels.map((c) => c.cancelAll().catch(() => undefined)));
    await Promise.allSettled([...this.inFlight]);
    await Promise.all(this.channels.map((c) => c.close().catch(() => undefined)));
  }

  on(): void {
    // Connection events are logged by AmqpConnection.
  }

  unwrap<T>(): T {
    return this.amqp.manager as T;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async handle(ch: ConfirmChannel, sub: Subscription, msg: ConsumeMessage): Promise<void> {
    let data: unknown;
    try {
      data = JSON.parse(msg.content.toString('utf8'));
    } catch {
      return this.deadLetter(ch, sub, msg, 'body is not valid JSON');
    }
    const handler = this.getHandlerByPattern(sub.pattern)!;
    try {
      await lastValueFrom(this.transformToObservable(await handler(data, new AmqpContext([msg, sub.queue]))), { defaultValue: undefined });
      this.settle(() => ch.ack(msg));
      Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'acked' });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof DeadLetter) return this.deadLetter(ch, sub, msg, reason);
      if (e instanceof RetryLater) {
        this.logger.warn(`requeueing a message of ${sub.queue} in 2 s: ${reason}`);
        Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'requeued' });
        await new Promise((r) => setTimeout(r, 2_000));
        return this.settle(() => ch.nack(msg, false, true));
      }
      const failures = Number(msg.properties.headers?.[RETRY_HEADER] ?? 0) + 1;
      if (failures >= MAX_UNEXPECTED_FAILURES) return this.deadLetter(ch, sub, msg, `failed ${failures} times, last: ${reason}`);
      Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'retried' });
      this.logger.error(`message of ${sub.queue} failed (${failures}/${MAX_UNEXPECTED_FAILURES}), retrying: ${reason}`, e instanceof Error ? e.stack : undefined);
      await new Promise((r) => setTimeout(r, 500 * failures));
      await this.republish(ch, sub.queue, msg, { [RETRY_HEADER]: String(failures), 'x-last-error': reason.slice(0, 500) });
    }
  }

  /** Publishes a copy (confirmed) to the dead-letter queue with the reason, then acks the original. */
  private async deadLetter(ch: ConfirmChannel, sub: Subscription, msg: ConsumeMessage, reason: string): Promise<void> {
    this.logger.warn(`dead-lettering a message of ${sub.queue}: ${reason}`);
    Metrics.messagesConsumed.inc({ queue: sub.queue, disposition: 'dead-lettered' });
    await this.republish(ch, sub.deadLetterQueue, msg, { 'x-dead-letter-reason': reason.slice(0, 1000), 'x-original-queue': sub.queue });
  }

  private async republish(ch: ConfirmChannel, queue: string, msg: ConsumeMessage, headers: Record<string, string>): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) =>
        ch.sendToQueue(queue, msg.content, { ...msg.properties, persistent: true, headers: { ...msg.properties.headers, ...headers } }, (err) => (err ? reject(err) : resolve())),
      );
      this.settle(() => ch.ack(msg));
    } catch (e) {
      // Not confirmed: leave the original unacked; the broker redelivers it.
      this.logger.error(`could not republish to ${queue}: ${e instanceof Error ? e.message : String(e)}`);
      this.settle(() => ch.nack(msg, false, true));
    }
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
