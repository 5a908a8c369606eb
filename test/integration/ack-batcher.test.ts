import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { AckBatcher, AmqpConnection, Settler } from '@app/messaging';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

/**
 * AckBatcher on a real broker: deliveries finishing in any order are all acked exactly once (a tag acked twice,
 * or by a `multiple` ack reaching past a delivery still running, would close the channel with a 406 and requeue
 * messages), with fewer frames than messages when they finish together.
 */
jest.setTimeout(60_000);

describe('AckBatcher (RabbitMQ)', () => {
  const env = testEnv();
  const queue = `ack-batcher-${randomUUID()}`;
  const N = 60;
  let connection: AmqpConnection;

  beforeAll(() => {
    Logger.overrideLogger(false);
    connection = new AmqpConnection({
      urls: [env.AMQP_URL],
      storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE,
      domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE,
    });
  });

  afterAll(async () => {
    const admin = connection.currentConnection();
    if (admin) {
      const ch = await admin.createChannel();
      await ch.deleteQueue(queue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    await connection.onApplicationShutdown();
  });

  it('acks every delivery once whatever the order they finish in; the oldest finished run in one frame', async () => {
    const frames: { tag: number; multiple: boolean }[] = [];
    const held: ConsumeMessage[] = [];
    let channel: ConfirmChannel | undefined;
    let batcher: AckBatcher | undefined;
    const errors: unknown[] = [];
    let closes = 0;
    connection.channel('ack batcher probe', async (ch, managed) => {
      channel = ch;
      ch.on('close', () => closes++);
      const counted: Settler = {
        ack: (m, allUpTo = false) => {
          frames.push({ tag: m.fields.deliveryTag, multiple: allUpTo });
          ch.ack(m, allUpTo);
        },
        nack: (m, allUpTo, requeue) => ch.nack(m, allUpTo, requeue),
      };
      batcher = new AckBatcher(counted, (e) => errors.push(e));
      await ch.assertQueue(queue, { durable: false });
      await ch.prefetch(N);
      await managed.consume(ch, queue, (msg) => {
        batcher!.delivered(msg);
        held.push(msg);
      });
    });
    await connection.waitForConnect(30_000);
    await waitFor(async () => batcher, Boolean, { timeoutMs: 15_000, what: 'the probe consumer' });
    for (let i = 0; i < N; i++) await connection.publish('', queue, Buffer.from(String(i)), {});
    await waitFor(
      async () => held.length,
      (n) => n === N,
      { timeoutMs: 15_000, what: 'every message delivered' },
    );

    // Three rounds, each a turn of the event loop: the oldest half in a shuffled order; then the younger half but its
    // oldest, still running, in a shuffled order; then that one.
    const shuffled = (ms: ConsumeMessage[]) => [...ms].sort(() => Math.random() - 0.5);
    const rounds = [shuffled(held.slice(0, N / 2)), shuffled(held.slice(N / 2 + 1)), [held[N / 2]]];
    for (const round of rounds) {
      for (const m of round) batcher!.ack(m);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 50));
    }

    // Whatever a channel still held unacked would go back to the queue when it closes: nothing does.
    await channel!.close();
    const admin = await connection.currentConnection()!.createChannel();
    await waitFor(
      async () => (await admin.checkQueue(queue)).messageCount,
      (n) => n === 0,
      { timeoutMs: 3_000, what: 'no message requeued' },
    ).catch(() => undefined);
    const { messageCount } = await admin.checkQueue(queue);
    await admin.close();
    expect(messageCount).toBe(0);
    expect(errors).toEqual([]);
    expect(closes).toBe(1);
    // Every tag acked once: the tags reached by each frame cover 1..N without overlap.
    const covered: number[] = [];
    let upTo = 0;
    for (const f of [...frames].sort((a, b) => a.tag - b.tag)) if (!f.multiple) covered.push(f.tag);
    for (const f of frames.filter((x) => x.multiple).sort((a, b) => a.tag - b.tag)) {
      for (let t = upTo + 1; t <= f.tag; t++) if (!covered.includes(t)) covered.push(t);
      upTo = f.tag;
    }
    const tags = held.map((m) => m.fields.deliveryTag);
    expect(covered.sort((a, b) => a - b)).toEqual([...tags].sort((a, b) => a - b));
    // The oldest half in one frame; behind a delivery still running each ack goes alone (no multiple ack may reach it).
    expect(frames[0]).toEqual({ tag: held[N / 2 - 1].fields.deliveryTag, multiple: true });
    expect(frames.slice(1, -1).every((f) => !f.multiple)).toBe(true);
    expect(frames).toHaveLength(1 + (N / 2 - 1) + 1);
  });
});
