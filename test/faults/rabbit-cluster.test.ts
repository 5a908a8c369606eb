import { spawn } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { JobType, jobQueuesOf } from '@app/contracts';
import { AppName, RunningApp, startApp, stopApp } from '../support/apps';
import { TestDb, SeededJob } from '../support/db';
import { TestStore } from '../support/store';
import { waitFor } from '../support/poll';
import { priorityOrder } from '../support/priority-order';
import { NS, PORT_BASE, ROOT, testEnv } from '../support/test-env';
import { LoadDriver } from './support/load';
import { freshDatabase, run } from './support/private-infra';
import { EventLedger, report, waitAllFinal, offCleanProfile } from './support/ledger';

jest.setTimeout(300_000);

const UPLOADS = Number(process.env.FAULTS_CLUSTER_UPLOADS ?? 300);
const BACKLOG = 300;
const URGENT = 20;
const PREFETCH = 4;
/** The cluster's own ports: node N on PORT_BASE+20+N-1 (AMQP), PORT_BASE+30+N (distribution). */
const CLUSTER_BASE = PORT_BASE + 20;
const CLUSTER_NAME = `${NS}rq`;
const NODES = [1, 2, 3];
const nodeUrl = (n: number) => `amqp://guest:guest@127.0.0.1:${CLUSTER_BASE + n - 1}`;
const nodeName = (n: number) => `${CLUSTER_NAME}n${n}@localhost`;
const URLS = NODES.map(nodeUrl);

const APP_ENV = {
  AMQP_URLS: URLS.join(','),
  AMQP_QUEUE_MODE: 'quorum',
  RECONCILER_INTERVAL_SECONDS: '2',
  RECONCILER_GRACE_SECONDS: '5',
  RECONCILER_STALE_JOB_SECONDS: '10',
  JOB_LEASE_SECONDS: '5',
  DEFAULT_JOBS: '*/*=VALIDATION',
  JOB_TYPES: 'VALIDATION',
};
const NAMES: AppName[] = ['upload-gateway', 'storage-events', 'job-processor'];

/** scripts/faults/rabbit-cluster.sh with this suite's name and ports. */
function cluster(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts/faults/rabbit-cluster.sh'), ...args], {
      env: { ...process.env, CLUSTER_NAME, CLUSTER_PORT_BASE: String(CLUSTER_BASE) },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`rabbit-cluster.sh ${args.join(' ')} failed (${code}):\n${out.slice(-2000)}`)),
    );
  });
}

/** Ready messages over the VALIDATION bands, asked of any live node. */
async function bandDepth(): Promise<number> {
  for (const url of URLS) {
    const conn = await amqp.connect(url).catch(() => null);
    if (!conn) continue;
    try {
      const ch = await conn.createChannel();
      let n = 0;
      for (const q of jobQueuesOf(JobType.VALIDATION, 'quorum')) n += (await ch.checkQueue(q)).messageCount;
      return n;
    } finally {
      await conn.close().catch(() => undefined);
    }
  }
  throw new Error('no cluster node answers');
}

/**
 * Issue 23: the apps on a private 3-node RabbitMQ cluster (quorum queues, AMQP_QUEUE_MODE=quorum, every node in
 * AMQP_URLS), the node holding the most queue leaders killed with kill -9 in the middle of 300 uploads: every upload
 * COMPLETED, no duplicate job, one of each event; no app restarted; then priority-1 jobs overtake a backlog on the
 * two nodes left. Postgres and the S3 store are the machine's (this namespace's database and bucket, re-created
 * here; the store's notifications pushed to node 3 meanwhile; the next test run's global setup re-points them).
 */
describe('RabbitMQ cluster: a node lost under load (quorum mode)', () => {
  const apps = new Map<AppName, RunningApp>();
  const ledger = new EventLedger({ urls: URLS, queueArguments: { 'x-queue-type': 'quorum' } });
  let victim = 0;

  const start = async (name: AppName, env: Record<string, string> = {}) =>
    apps.set(name, await startApp(name, { ...APP_ENV, ...env }, { readyTimeoutMs: 90_000 }));

  beforeAll(async () => {
    const t0 = Date.now();
    await cluster('down').catch(() => undefined);
    const up = await cluster('up');
    // This namespace's database anew, and its bucket's notifications pushed to node 3 of the cluster.
    const env = testEnv();
    freshDatabase(env, 5432);
    const provisioned = run(process.execPath, [join(ROOT, 'scripts/provision-store.mjs')], { ...env, AMQP_URL: nodeUrl(3) }, 'provisioning the store');
    report(`${up.split('\n').slice(-1)[0]} (${Date.now() - t0} ms); ${provisioned.slice(0, 160)}`);
    await ledger.bind();
    await Promise.all(NAMES.map((name) => start(name)));
  });

  afterAll(async () => {
    await Promise.all([...apps.values()].map((a) => stopApp(a, 'SIGKILL')));
    if (process.env.FAULTS_KEEP_INFRA !== '1') await cluster('down').catch((e) => report(String(e)));
  });

  it('kill -9 of the node with the most queue leaders midway through 300 uploads: every upload COMPLETED, no duplicate jobs, one session.completed each, no app restarted', async () => {
    const pids = NAMES.map((n) => apps.get(n)!.process.pid);
    const load = new LoadDriver();
    const running = load.run(UPLOADS, { perSecond: UPLOADS / 30, tag: 'cluster' });
    await waitFor(
      async () => load.figures.created,
      (n) => n >= UPLOADS / 2,
      { timeoutMs: 120_000, intervalMs: 200, what: 'half of the uploads created' },
    );

    const leaders = new Map<number, string[]>(NODES.map((n) => [n, []]));
    for (const line of (await cluster('leaders')).split('\n')) {
      const [leader, queue] = line.trim().split(/\s+/);
      const n = NODES.find((i) => nodeName(i) === leader);
      if (n) leaders.get(n)!.push(queue);
    }
    victim = [...leaders.entries()].sort((a, b) => b[1].length - a[1].length)[0][0];
    report(`queue leaders before the kill: ${NODES.map((n) => `${nodeName(n)} ${leaders.get(n)!.length}`).join(', ')}`);
    expect([...leaders.values()].flat().length).toBeGreaterThan(10);
    const killedAt = Date.now();
    report(await cluster('kill', String(victim)));

    const uploads = await running;
    const ids = uploads.map((u) => u.id);
    const states = await waitAllFinal(ids, 180_000);
    const byStatus: Record<string, number> = {};
    for (const s of states.values()) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    const events = await ledger.settle(ids);
    const duplicateJobs = [...states.values()].filter((s) => s.jobs !== 1).length;
    const attemptsAbove1 = [...states.values()].filter((s) => s.attempts > 1).length;
    const completed = ids.filter((id) => events.get(id)!['session.completed']?.[1] === 1).length;
    const off = offCleanProfile(ids, events);
    report(
      `node ${nodeName(victim)} killed: ${ids.length} uploads → ${JSON.stringify(byStatus)}, all final ${Date.now() - killedAt} ms after the kill; ` +
        `sessions with ≠1 job: ${duplicateJobs}; jobs retried: ${attemptsAbove1}; one session.completed: ${completed}; events off a clean run: ${off.length}; ` +
        `client: ${JSON.stringify(load.figures)}`,
    );
    expect(load.errors).toEqual([]);
    expect(ids).toHaveLength(UPLOADS);
    expect(byStatus).toEqual({ COMPLETED: UPLOADS });
    expect(duplicateJobs).toBe(0);
    expect(completed).toBe(UPLOADS);
    expect(off.map((id) => ({ id, events: events.get(id) }))).toEqual([]);
    // No restart: every app rode the failover to another node.
    expect(NAMES.map((n) => apps.get(n)!.process.pid)).toEqual(pids);
    expect(NAMES.map((n) => apps.get(n)!.process.exitCode)).toEqual([null, null, null]);
  });

  it('on the two nodes left, priority-1 jobs queued after a backlog of priority-10 jobs finish first', async () => {
    expect(victim).toBeGreaterThan(0);
    await stopApp(apps.get('job-processor')!);
    apps.delete('job-processor');
    const db = new TestDb();
    const store = new TestStore();
    try {
      const putAll = async (jobs: SeededJob[]) => {
        for (let i = 0; i < jobs.length; i += 16) await Promise.all(jobs.slice(i, i + 16).map((j) => store.put(j.objectKey, Buffer.from(j.jobId))));
      };
      const before = await bandDepth();
      // The relay of the gateway and storage-events publishes the seeded outbox rows into the bands.
      const backlog = await db.seedUploadedJobs(BACKLOG, { type: JobType.VALIDATION, priority: 10, size: 36 });
      await putAll(backlog);
      await waitFor(bandDepth, (n) => n === before + BACKLOG, { timeoutMs: 60_000, what: 'the backlog queued' });
      const urgent = await db.seedUploadedJobs(URGENT, { type: JobType.VALIDATION, priority: 1, size: 36 });
      await putAll(urgent);
      await waitFor(bandDepth, (n) => n === before + BACKLOG + URGENT, { timeoutMs: 60_000, what: 'the urgent jobs queued' });

      await start('job-processor', { JOB_CONCURRENCY: String(PREFETCH) });
      const all = [...backlog, ...urgent].map((j) => j.jobId);
      const rows = await waitFor(
        () => db.jobs(all),
        (list) => list.every((j) => j.status === 'COMPLETED'),
        { timeoutMs: 150_000, intervalMs: 500, what: 'every job done' },
      );
      const { urgentDone, backlogDone, backlogBeforeLastUrgent } = priorityOrder(
        rows,
        urgent.map((j) => j.jobId),
      );
      report(
        `priority after the node loss: ${URGENT} urgent done after ${urgentDone} ms; backlog of ${BACKLOG} done after ${backlogDone} ms; ` +
          `backlog jobs finished before the last urgent one: ${backlogBeforeLastUrgent}`,
      );
      expect(urgentDone).toBeLessThan(backlogDone * 0.2);
      // The bands' consumers all start at once: at most the slots taken before the urgent messages were in hand.
      expect(backlogBeforeLastUrgent).toBeLessThanOrEqual(PREFETCH);
    } finally {
      await db.close();
      store.close();
    }
  });
});
