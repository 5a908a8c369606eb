import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { jobQueue, JobType, Topology } from '@app/contracts';
import { logFileOf, RunningApp, startApp, stopApp } from '../support/apps';
import { NS, PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/** A vhost of this namespace only, for a broker whose topology differs (created and deleted here). */
const VHOST = `uploads-${NS}-topology`;

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 60_000 });
}

/**
 * Issue 17, topology declared once: a queue that exists with other arguments than this version declares (here
 * jobs.validation without x-max-priority, as an older version might have left it) stops the app at start
 * with one clear error naming the queue, the argument and the migration path. Before, every channel
 * redeclared the topology and failed on its own, and the app ran on with readiness green.
 */
describe('a topology that differs (e2e)', () => {
  let app: RunningApp | undefined;
  const url = testEnv().AMQP_URL.replace(/\/[^/]*$/, `/${VHOST}`);

  beforeAll(async () => {
    rabbitmqctl('add_vhost', VHOST);
    rabbitmqctl('set_permissions', '-p', VHOST, 'guest', '.*', '.*', '.*');
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    // As this version declares it, but for its priorities.
    await ch.assertQueue(jobQueue(JobType.VALIDATION), {
      durable: true,
      arguments: { 'x-dead-letter-exchange': Topology.deadLetterExchange, 'x-dead-letter-routing-key': Topology.jobsDeadQueue },
    });
    await conn.close();
  });
  afterAll(async () => {
    if (app) await stopApp(app, 'SIGKILL');
    rabbitmqctl('delete_vhost', VHOST);
  });

  it('stops the app at start, naming the queue, the argument and the migration path', async () => {
    app = await startApp('job-processor', { AMQP_URL: url, JOB_TYPES: 'VALIDATION' }, { port: PORT_BASE + 3, waitReady: false });
    const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('still running'), 45_000).unref())]);
    expect(code).toBe(78);
    const log = readFileSync(logFileOf(app), 'utf8');
    expect(log).toMatch(/queue jobs\.validation/);
    expect(log).toMatch(/x-max-priority/);
    expect(log).toMatch(/docs\/operations\.md#changing-the-rabbitmq-topology/);
  });
});

/** The cluster mode is a setting: an app of the other mode meets the queues of the first and stops, naming x-queue-type. */
describe('a queue of the other mode (e2e)', () => {
  let app: RunningApp | undefined;
  const vhost = `${VHOST}-quorum`;
  const url = testEnv().AMQP_URL.replace(/\/[^/]*$/, `/${vhost}`);

  beforeAll(async () => {
    rabbitmqctl('add_vhost', vhost);
    rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    const conn = await amqp.connect(url);
    const ch = await conn.createChannel();
    // As the quorum mode (AMQP_QUEUE_MODE=quorum) declares it.
    await ch.assertQueue(Topology.storageNotificationsDeadQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await conn.close();
  });
  afterAll(async () => {
    if (app) await stopApp(app, 'SIGKILL');
    rabbitmqctl('delete_vhost', vhost);
  });

  it('a classic-mode app on quorum queues stops at start, naming the queue and x-queue-type', async () => {
    app = await startApp('job-processor', { AMQP_URL: url, JOB_TYPES: 'VALIDATION', AMQP_QUEUE_MODE: 'classic' }, { port: PORT_BASE + 3, waitReady: false });
    const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('still running'), 45_000).unref())]);
    expect(code).toBe(78);
    const log = readFileSync(logFileOf(app), 'utf8');
    expect(log).toMatch(/queue storage-events\.notifications\.dead/);
    expect(log).toMatch(/argument x-queue-type/);
  });
});
