import { JobType, jobQueue } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { peekQueue, purgeQueue } from '../support/broker';
import { TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { TestStore } from '../support/store';
import { StoreProxy } from '../support/store-proxy';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(120_000);

const JOBS = 20;
const CONCURRENCY = 3;

/**
 * Issue 17, graceful shutdown: SIGTERM while a processor has a backlog and jobs in flight. No job may start
 * after the signal (consumers are cancelled by tag, deliveries still arriving go back untouched); jobs still
 * running a third into the shutdown deadline are given back (PENDING, attempt not counted) and their
 * messages are published by the stopping process itself before it closes its connection. No other app runs
 * here, so no other relay could publish them.
 */
describe('SIGTERM under a backlog (e2e)', () => {
  const db = new TestDb();
  const store = new TestStore();
  let proxy: StoreProxy;
  let processor: RunningApp | undefined;

  beforeAll(async () => {
    proxy = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 16);
    // The prefetch below must be this file's jobs only: CHECKSUM messages an earlier file left (jobs of sessions it
    // deleted or cancelled) would take slots.
    await purgeQueue(jobQueue(JobType.CHECKSUM));
  });
  afterAll(async () => {
    proxy?.releaseGets();
    if (processor) await stopApp(processor, 'SIGKILL');
    await proxy?.close();
    await db.close();
    store.close();
  });

  it('no job starts after the signal; released jobs are re-queued by the stopping process', async () => {
    // The jobs in flight stay in the middle of their reads until the shutdown gives them back.
    proxy.holdGets = true;
    processor = await startApp(
      'job-processor',
      { JOB_TYPES: 'CHECKSUM', JOB_CONCURRENCY: String(CONCURRENCY), SHUTDOWN_TIMEOUT_SECONDS: '6', S3_ENDPOINT: proxy.url },
      { port: PORT_BASE + 3 },
    );
    const seeded = await db.seedUploadedJobs(JOBS, { type: JobType.CHECKSUM, priority: 5, size: 5 });
    for (const s of seeded) await store.put(s.objectKey, Buffer.from('hello'));
    const ids = seeded.map((s) => s.jobId);
    // The prefetch (twice the concurrency) is claimed; JOB_CONCURRENCY of them run, the others wait for a slot.
    await waitFor(
      async () => (await db.jobs(ids)).filter((j) => j.status === 'RUNNING').length,
      (n) => n === 2 * CONCURRENCY,
      { timeoutMs: 30_000, what: 'a full prefetch of claimed jobs' },
    );
    await waitFor(
      async () => proxy.heldGets,
      (n) => n === CONCURRENCY,
      { what: 'the reads of the running ones held' },
    );

    const signalledAt = Date.now();
    processor.process.kill('SIGTERM');
    const code = await processor.exited;
    const stoppedAfter = Date.now() - signalledAt;
    expect({ code, signal: processor.process.signalCode }).toEqual(expect.objectContaining(code === 0 ? { code: 0 } : { signal: 'SIGTERM' }));
    expect(stoppedAfter).toBeLessThan(6_000);

    const jobs = await db.jobs(ids);
    const startedLate = jobs.filter((j) => j.started_at && j.started_at.getTime() > signalledAt + 100);
    expect(startedLate.map((j) => ({ id: j.id, startedMsAfterSignal: j.started_at!.getTime() - signalledAt }))).toEqual([]);
    // Nothing ran to an outcome: the ones in flight were given back uncounted, the rest never started.
    expect(jobs.map((j) => [j.status, j.attempts])).toEqual(ids.map(() => ['PENDING', 0]));
    const { rows } = await db.pool.query('select count(*)::int as n from outbox_message');
    expect(rows[0].n).toBe(0);
    // Every job has its message in the queue again: the backlog never taken, and the released ones (published
    // by the stopping process: no other process ran).
    const queued = (await peekQueue(jobQueue(JobType.CHECKSUM))).map((m) => JSON.parse(m.body).jobId as string);
    expect(new Set(queued.filter((id) => ids.includes(id)))).toEqual(new Set(ids));

    // Another processor takes them: each completes on its first counted attempt (the released run spent none).
    const next = await startApp('job-processor', { JOB_TYPES: 'CHECKSUM', JOB_CONCURRENCY: String(CONCURRENCY) }, { port: PORT_BASE + 4 });
    try {
      const done = await waitFor(
        () => db.jobs(ids),
        (js) => js.every((j) => j.status === 'COMPLETED' || j.status === 'FAILED'),
        { timeoutMs: 60_000, what: 'every job finished by the next processor' },
      );
      expect(done.map((j) => [j.status, j.attempts])).toEqual(ids.map(() => ['COMPLETED', 1]));
    } finally {
      await stopApp(next);
    }
  });
});
