import type { ConsumeMessage } from 'amqplib';

/** The part of an amqplib channel that settles deliveries. */
export interface Settler {
  ack(message: ConsumeMessage, allUpTo?: boolean): void;
  nack(message: ConsumeMessage, allUpTo?: boolean, requeue?: boolean): void;
}

/**
 * Settles the deliveries of one channel, acks once per turn of the event loop: the longest run of the channel's
 * oldest unsettled deliveries that are all to be acked goes as one `multiple` ack (one frame and one socket write
 * instead of one per message: a batch of job outcomes commits together, so its messages are acked together); any
 * other ack goes alone. A `multiple` ack settles every outstanding delivery up to its tag, so every delivery of
 * the channel must be registered (`delivered`) and settled here, never on the channel directly. Nacks go at once.
 */
export class AckBatcher {
  /** Delivery tags not settled yet, in delivery order (the broker numbers a channel's deliveries upwards). */
  private readonly unsettled = new Set<number>();
  private readonly toAck = new Map<number, ConsumeMessage>();
  private scheduled = false;

  constructor(
    private readonly channel: Settler,
    private readonly onError: (e: unknown) => void,
  ) {}

  delivered(message: ConsumeMessage): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Acked at the end of this turn of the event loop (the caller's commit is done: acking later only widens the batch). */
  ack(message: ConsumeMessage): void {
    this.toAck.set(message.fields.deliveryTag, message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Throws when the channel is closed (the broker then redelivers it anyway). */
  nack(message: ConsumeMessage, requeue: boolean): void {
    this.unsettled.delete(message.fields.deliveryTag);
    this.channel.nack(message, false, requeue);
  }

  /** Sends the acks waiting; a closed channel's are dropped (the broker redelivers those messages). */
  flush(): void {
    this.scheduled = false;
    if (this.toAck.size === 0) return;
    const run: number[] = [];
    for (const tag of this.unsettled) {
      if (!this.toAck.has(tag)) break;
      run.push(tag);
    }
    const last = run.length > 0 ? this.toAck.get(run[run.length - 1]) : undefined;
    const acks = [...this.toAck.values()];
    this.toAck.clear();
    for (const m of acks) this.unsettled.delete(m.fields.deliveryTag);
    try {
      if (last) this.channel.ack(last, run.length > 1);
      const inRun = new Set(run);
      for (const m of acks) if (!inRun.has(m.fields.deliveryTag)) this.channel.ack(m);
    } catch (e) {
      this.onError(e);
    }
  }
}
