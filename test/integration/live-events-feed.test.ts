import { Logger } from '@nestjs/common';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { DomainEventType } from '@app/contracts';
import { AmqpConnection, LiveEventsFeed } from '@app/messaging';
import { publishRaw } from '../support/broker';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

/**
 * Whether a queue exists on the test vhost, seen from another connection: checkQueue on a throwaway channel. An
 * exclusive queue of another connection answers 405 RESOURCE_LOCKED (it exists, and is not ours), a missing one 404.
 */
async function queueExists(name: string): Promise<boolean> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    return await ch.checkQueue(name).then(
      () => true,
      (e: { code?: number }) => e.code === 405,
    );
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The gateway's live subscription against the real RabbitMQ: a private queue only while used, session/job/group events only, recovery. */
describe('LiveEventsFeed (RabbitMQ)', () => {
  const env = testEnv();
  let connection: AmqpConnection;
  let feed: LiveEventsFeed;
  const received: { key: string; id: string }[] = [];
  let gaps = 0;

  const envelope = (type: string) => {
    const id = randomUUID();
    return {
      id,
      body: JSON.stringify({ id, type, occurredAt: new Date().toISOString(), version: 1, data: { sessionId: randomUUID(), groupId: null, userId: null } }),
    };
  };

  beforeAll(() => {
    Logger.overrideLogger(false);
    connection = new AmqpConnection({
      urls: [env.AMQP_URL],
      storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE,
      domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE,
    });
    feed = new LiveEventsFeed(connection, env.DOMAIN_EVENTS_EXCHANGE, { lingerMs: 300 });
    feed.listen({ onEvent: (key, body) => received.push({ key, id: JSON.parse(body.toString()).id }), onGap: () => gaps++ });
  });

  afterAll(async () => {
    feed.onApplicationShutdown();
    await connection.onApplicationShutdown();
  });

  it('holds no queue until used; then its own exclusive queue gets session, job and group events (not webhook.*)', async () => {
    expect(feed.active).toBe(false);
    await feed.acquire(15_000);
    const queue = feed.queue!;
    expect(queue).toMatch(/^amq\.gen-/);
    expect(await queueExists(queue)).toBe(true);

    const skipped = envelope(DomainEventType.WebhookDisabled);
    const wanted = [DomainEventType.SessionCompleted, DomainEventType.JobFailed, DomainEventType.GroupCancelled].map((t) => ({ t, ...envelope(t) }));
    // The unwanted one goes first: had it been routed here, it would arrive before the others.
    await publishRaw(env.DOMAIN_EVENTS_EXCHANGE, DomainEventType.WebhookDisabled, [skipped.body]);
    for (const w of wanted) await publishRaw(env.DOMAIN_EVENTS_EXCHANGE, w.t, [w.body]);
    await waitFor(
      async () => received.length,
      (n) => n >= wanted.length,
      { what: 'the three events' },
    );
    expect(received).toEqual(wanted.map((w) => ({ key: w.t, id: w.id })));

    // Released: the queue goes once the linger time is over.
    feed.release();
    await waitFor(
      () => queueExists(queue),
      (exists) => !exists,
      { timeoutMs: 10_000, what: `${queue} deleted` },
    );
    expect(feed.active).toBe(false);
  });

  it('a user back within the linger time keeps the same queue', async () => {
    await feed.acquire(15_000);
    const queue = feed.queue;
    feed.release();
    await feed.acquire(15_000);
    expect(feed.queue).toBe(queue);
    feed.release();
  });

  it('a lost broker connection is a gap (its streams end), and it subscribes again by itself once reconnected', async () => {
    await feed.acquire(15_000);
    const first = feed.queue!;
    // As a broker restart or a network failure would: the connection goes; the exclusive queue goes with it.
    await connection.currentConnection()!.close();
    await waitFor(
      async () => gaps,
      (n) => n >= 1,
      { what: 'a gap' },
    );
    expect(await queueExists(first)).toBe(false);
    const second = await waitFor(
      async () => feed.queue,
      (q) => q !== null && q !== first,
      { what: 'a new subscription' },
    );
    expect(await queueExists(second!)).toBe(true);

    const after = envelope(DomainEventType.SessionUploaded);
    await publishRaw(env.DOMAIN_EVENTS_EXCHANGE, DomainEventType.SessionUploaded, [after.body]);
    await waitFor(
      async () => received.map((r) => r.id),
      (ids) => ids.includes(after.id),
      { what: 'an event on the new queue' },
    );
    feed.release();
  });
});
