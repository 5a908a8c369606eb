import { Logger } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import { createServer, Server, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AmqpConnection } from '@app/messaging';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';

/**
 * The connection layer (amqp-connection-manager under AmqpConnection) with a list of broker URLs: a node that does
 * not answer is skipped, and a connection the broker closes is replaced (the next URL, then around) with the
 * channels and their consumers set up again, without a restart. The node-loss case of a real cluster is in the
 * fault suite (test/faults/rabbit-cluster.test.ts).
 */
jest.setTimeout(90_000);

describe('AmqpConnection over a list of URLs', () => {
  const env = testEnv();
  const vhost = decodeURIComponent(new URL(env.AMQP_URL).pathname.slice(1)) || '/';
  /** A "node" that accepts the TCP connection and never answers (a hung host behind a live port): given up after 5 s. */
  const silentNode = `amqp://guest:guest@127.0.0.1:${PORT_BASE + 18}`;
  /** Nothing listens there: a node that is down. */
  const deadNode = `amqp://guest:guest@127.0.0.1:${PORT_BASE + 19}`;
  const held: Socket[] = [];
  let silent: Server;
  const queue = `failover-probe-${randomUUID()}`;
  const received: string[] = [];
  let connection: AmqpConnection;

  beforeAll(async () => {
    Logger.overrideLogger(false);
    silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(PORT_BASE + 18, '127.0.0.1', resolve));
    connection = new AmqpConnection({
      urls: [silentNode, deadNode, env.AMQP_URL],
      storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE,
      domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE,
    });
    connection.channel('probe consumer', async (ch, managed) => {
      await ch.assertQueue(queue, { durable: true });
      await managed.consume(ch, queue, (msg) => {
        received.push(msg.content.toString());
        ch.ack(msg);
      });
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
    for (const socket of held) socket.destroy();
    silent.close();
  });

  const consumerOpen = () => connection.health().find((c) => c.name === 'probe consumer')?.state === 'open' && connection.isConnected();

  it('gives up the node that never answers and the one that is down, and publishes with confirms through the next', async () => {
    const t0 = Date.now();
    await connection.waitForConnect(30_000);
    // 5 s for the silent node, 1 s before each next attempt.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(connection.connectedTo).toBe(env.AMQP_URL.replace(/\/\/[^@/]*@/, '//***@'));
    await waitFor(async () => consumerOpen(), Boolean, { timeoutMs: 15_000, what: 'probe consumer open' });
    await connection.publish('', queue, Buffer.from('one'), {});
    await waitFor(
      async () => received,
      (r) => r.includes('one'),
      { timeoutMs: 10_000, what: 'first message consumed' },
    );
  });

  it('a connection closed by the broker is replaced: channels reopened, the consumer resumes, no restart', async () => {
    const before = connection.currentConnection();
    const r = spawnSync('rabbitmqctl', ['-q', 'close_all_connections', '-p', vhost, 'failover test'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    await waitFor(async () => connection.currentConnection() !== before && consumerOpen(), Boolean, {
      timeoutMs: 30_000,
      what: 'reconnected with the consumer open',
    });
    await waitFor(
      async () =>
        connection.publish('', queue, Buffer.from('two'), {}).then(
          () => true,
          () => false,
        ),
      Boolean,
      { timeoutMs: 10_000, what: 'a confirmed publish after the reconnection' },
    );
    await waitFor(
      async () => received,
      (r) => r.includes('two'),
      { timeoutMs: 10_000, what: 'message consumed after the reconnection' },
    );
    expect(connection.topologyError).toBeNull();
  });
});
