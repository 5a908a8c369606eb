import { execFileSync } from 'node:child_process';
import amqp from 'amqplib';
import { JobType, jobQueuesOf, QueueMode, Topology } from '@app/contracts';
import { NS, PORT_BASE, testEnv } from '../support/test-env';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { SeededJob, TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { priorityOrder } from '../support/priority-order';
import { TestStore } from '../support/store';

jest.setTimeout(180_000);

const BACKLOG = 300;
const URGENT = 20;
const PREFETCH = 4;

async function putAll(store: TestStore, jobs: SeededJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 16) {
    await Promise.all(jobs.slice(i, i + 16).map((j) => store.put(j.objectKey, Buffer.from(j.jobId))));
  }
}

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 60_000 });
}

/** Ready messages over a job type's queues (one, or its priority bands) in a vhost. */
async function depth(url: string, queues: string[]): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    let n = 0;
    for (const q of queues) n += (await ch.checkQueue(q)).messageCount;
    return n;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * Priorities hold under load: a backlog of priority-10 CHECKSUM jobs is queued while no CHECKSUM processor
 * runs, then priority-1 jobs; one processor starts and takes the urgent ones first. The backlog is seeded
 * in SQL (uploaded sessions, jobs and their outbox rows) with real objects in storage; a VALIDATION-only
 * processor relays the outbox into the real priority queue, and the CHECKSUM processor consumes it.
 * Quorum mode (a vhost of its own): the same through the priority bands (priority 10 in `low`, 1 in `high`).
 */
describe.each<QueueMode>(['classic', 'quorum'])('job priorities under load, %s queues (e2e)', (mode) => {
  let relay: RunningApp;
  let worker: RunningApp | undefined;
  const db = new TestDb();
  const store = new TestStore();

  const vhost = `uploads-${NS}-quorum-priority`;
  const url = mode === 'quorum' ? testEnv().AMQP_URL.replace(/\/[^/]*$/, `/${vhost}`) : testEnv().AMQP_URL;
  const modeEnv = { AMQP_URL: url, AMQP_QUEUE_MODE: mode };

  beforeAll(async () => {
    if (mode === 'quorum') {
      rabbitmqctl('add_vhost', vhost);
      rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    }
    relay = await startApp('job-processor', { ...modeEnv, JOB_TYPES: 'VALIDATION' });
  });
  afterAll(async () => {
    if (worker) await stopApp(worker);
    if (relay) await stopApp(relay);
    // The objects put here notified a storage-events queue nobody in this file consumes: leave it empty.
    const conn = await amqp.connect(testEnv().AMQP_URL);
    await (await conn.createChannel()).purgeQueue(Topology.storageNotificationsQueue).catch(() => undefined);
    await conn.close();
    if (mode === 'quorum') rabbitmqctl('delete_vhost', vhost);
    await db.close();
    store.close();
  });

  it('priority-1 jobs submitted after a backlog of priority-10 jobs finish first', async () => {
    const queues = jobQueuesOf(JobType.CHECKSUM, mode);
    const queueDepth = () => depth(url, queues);
    const before = await queueDepth();
    const backlog = await db.seedUploadedJobs(BACKLOG, { type: JobType.CHECKSUM, priority: 10, size: 36 });
    await putAll(store, backlog);
    await waitFor(queueDepth, (n) => n === before + BACKLOG, { timeoutMs: 30_000, what: 'the backlog queued' });
    const urgent = await db.seedUploadedJobs(URGENT, { type: JobType.CHECKSUM, priority: 1, size: 36 });
    await putAll(store, urgent);
    await waitFor(queueDepth, (n) => n === before + BACKLOG + URGENT, { timeoutMs: 30_000, what: 'the urgent jobs queued' });

    worker = await startApp('job-processor', { ...modeEnv, JOB_TYPES: 'CHECKSUM', JOB_CONCURRENCY: String(PREFETCH) }, { port: PORT_BASE + 3 });
    const all = [...backlog, ...urgent].map((j) => j.jobId);
    const rows = await waitFor(
      () => db.jobs(all),
      (list) => list.every((j) => j.status === 'COMPLETED'),
      { timeoutMs: 120_000, intervalMs: 500, what: 'every job done' },
    );

    const { urgentWaits, urgentDone, backlogDone, backlogBeforeLastUrgent } = priorityOrder(
      rows,
      urgent.map((j) => j.jobId),
    );
    console.log(
      `priority (${mode}): ${URGENT} urgent done after ${urgentDone} ms (median ${urgentWaits[URGENT >> 1]} ms); ` +
        `backlog of ${BACKLOG} done after ${backlogDone} ms; backlog jobs finished before the last urgent one: ${backlogBeforeLastUrgent}`,
    );
    expect(urgentDone).toBeLessThan(backlogDone * 0.2);
    // At most what the consumer had prefetched before the urgent messages were at the head... and they were
    // queued before it started, so the priority queue hands them out first: only a few backlog jobs may slip in.
    expect(backlogBeforeLastUrgent).toBeLessThanOrEqual(PREFETCH);
  });
});
