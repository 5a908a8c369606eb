import { randomUUID } from 'node:crypto';
import amqp, { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { waitFor } from './poll';
import { testEnv } from './test-env';

/** An exchange of the tests' own, bound to each Capture's queue, that carries only fence markers. */
const FENCE_EXCHANGE = 'test.fence';

export interface CapturedMessage {
  routingKey: string;
  body: any;
  properties: ConsumeMessage['properties'];
}

/**
 * A test consumer on the test vhost: binds a private queue to an exchange and keeps what arrives,
 * as a downstream service would see it.
 */
export class Capture {
  readonly messages: CapturedMessage[] = [];
  private readonly fences = new Set<string>();
  private constructor(
    private readonly conn: ChannelModel,
    private readonly ch: Channel,
    private readonly queue: string,
  ) {}

  static async on(exchange: string, bindingKey = '#'): Promise<Capture> {
    const conn = await amqp.connect(testEnv().AMQP_URL);
    const ch = await conn.createChannel();
    await ch.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, exchange, bindingKey);
    await ch.assertExchange(FENCE_EXCHANGE, 'direct', { durable: false });
    await ch.bindQueue(queue, FENCE_EXCHANGE, queue);
    const capture = new Capture(conn, ch, queue);
    await ch.consume(
      queue,
      (m) => {
        if (!m) return;
        if (m.fields.exchange === FENCE_EXCHANGE) return void capture.fences.add(m.content.toString('utf8'));
        let body: unknown = m.content.toString('utf8');
        try {
          body = JSON.parse(body as string);
        } catch {
          // keep raw text
        }
        capture.messages.push({ routingKey: m.fields.routingKey, body, properties: m.properties });
      },
      { noAck: true },
    );
    return capture;
  }

  /** Domain events of one session, by type. */
  forSession(sessionId: string, type?: string): CapturedMessage[] {
    return this.messages.filter((m) => m.body?.data?.sessionId === sessionId && (!type || m.routingKey === type));
  }

  /**
   * Returns once every message already in this capture's queue has been received: a marker is published (with a
   * confirm) behind them, and a queue delivers in order. Call it after the work is counted and the outbox drained
   * (`outboxDrained`): then every event that work caused is in `messages`, and "nothing else" can be asserted.
   */
  async fence(): Promise<void> {
    const marker = randomUUID();
    const conn = await amqp.connect(testEnv().AMQP_URL);
    try {
      const ch = await conn.createConfirmChannel();
      ch.publish(FENCE_EXCHANGE, this.queue, Buffer.from(marker));
      await ch.waitForConfirms();
    } finally {
      await conn.close();
    }
    await waitFor(
      async () => this.fences.has(marker),
      (seen) => seen,
      { timeoutMs: 10_000, intervalMs: 20, what: 'the fence marker' },
    );
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}

/** Publishes raw bytes to an exchange of the test vhost (as a store or a misbehaving client would). */
export async function publishRaw(exchange: string, routingKey: string, messages: (string | Buffer)[]): Promise<void> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  const ch = await conn.createConfirmChannel();
  for (const m of messages) ch.publish(exchange, routingKey, Buffer.isBuffer(m) ? m : Buffer.from(m), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
}

/** Messages waiting in a queue of the test vhost, with their headers; the queue is left as it was (nack + requeue). */
export async function peekQueue(queue: string, max = 10_000): Promise<{ body: string; headers: Record<string, unknown> }[]> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  const ch = await conn.createChannel();
  const out: { body: string; headers: Record<string, unknown> }[] = [];
  const held: amqp.GetMessage[] = [];
  for (let i = 0; i < max; i++) {
    const m = await ch.get(queue, { noAck: false });
    if (!m) break;
    held.push(m);
    out.push({ body: m.content.toString('utf8'), headers: m.properties.headers ?? {} });
  }
  for (const m of held) ch.nack(m, false, true);
  await ch.close();
  await conn.close();
  return out;
}

/**
 * Empties a queue of the test vhost. Files run one at a time: a file whose check needs a queue holding only its own
 * messages (a full prefetch of its jobs) empties it first, whatever earlier files left there.
 */
export async function purgeQueue(queue: string): Promise<void> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.purgeQueue(queue);
  } finally {
    await conn.close();
  }
}

export async function queueDepth(queue: string): Promise<number> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  const ch = await conn.createChannel();
  const { messageCount } = await ch.checkQueue(queue);
  await conn.close();
  return messageCount;
}
