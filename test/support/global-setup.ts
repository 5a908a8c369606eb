import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
// globalSetup runs outside Jest's module mapping: relative imports and the compiled migration runner.
import { JOB_TYPES, jobQueue, Topology, WebhookTopology } from '../../libs/contracts/src';
import { ROOT, testEnv } from './test-env';

let done = false;

/**
 * Once per test run: wire the test namespace in the store and the broker (bucket, exchanges, the RGW
 * notification topic), recreate and migrate the test database, and empty the namespace's queues.
 * Needs `npm run infra:up` (Ceph RGW, Postgres, RabbitMQ) to have run.
 */
export default async function globalSetup(): Promise<void> {
  if (done) return;
  done = true;
  const env = testEnv();
  const provision = spawnSync(process.execPath, [join(ROOT, 'scripts/provision-store.mjs')], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (provision.status !== 0) {
    throw new Error(`provisioning the test namespace failed (is \`npm run infra:up\` done?):\n${provision.stdout}\n${provision.stderr}`);
  }

  const dbName = new URL(env.DATABASE_URL).pathname.slice(1);
  const psql = spawnSync(
    'psql',
    ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', `drop database if exists "${dbName}" with (force)`],
    { encoding: 'utf8' },
  );
  if (psql.status !== 0) throw new Error(`could not drop the test database: ${psql.stderr}`);
  const migrate = spawnSync(process.execPath, [join(ROOT, 'dist/libs/database/src/migrate.js')], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (migrate.status !== 0)
    throw new Error(`migrating the test database failed (is the build current? npm test builds first):\n${migrate.stdout}${migrate.stderr}`);

  const conn = await amqp.connect(env.AMQP_URL);
  const ch = await conn.createChannel();
  for (const q of [
    Topology.storageNotificationsQueue,
    Topology.storageNotificationsDeadQueue,
    Topology.jobsDeadQueue,
    ...JOB_TYPES.map(jobQueue),
    WebhookTopology.eventsQueue,
    WebhookTopology.eventsDeadQueue,
  ]) {
    // Missing queues are created by the apps; purging one that does not exist closes the channel.
    const probe = await conn.createChannel();
    probe.on('error', () => undefined);
    await probe.checkQueue(q).then(
      () => ch.purgeQueue(q),
      () => undefined,
    );
    await probe.close().catch(() => undefined);
  }
  await conn.close();
}
