import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { DomainEventType, JobType } from '@app/contracts';
import { logFileOf, RunningApp, startApp, stopApp } from '../support/apps';
import { Capture } from '../support/broker';
import { TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { TestStore } from '../support/store';
import { StoreProxy } from '../support/store-proxy';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(180_000);

/** Short leases and frequent renewals, so a suspended processor loses its lease within the test's time. */
const LEASE = { JOB_TYPES: 'THUMBNAIL', JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '500' };

/**
 * Issue 17, fenced leases: a processor suspended (SIGSTOP) past its lease while another takes its job over
 * must, once resumed (SIGCONT), write nothing more of that job: not its thumbnail into the store, not its
 * outcome into the database. Before the fix its renewal succeeded against the other's claim (status RUNNING
 * was all it checked) and both handlers wrote.
 */
describe('a processor that lost its lease writes nothing (e2e)', () => {
  const apps: RunningApp[] = [];
  const db = new TestDb();
  const store = new TestStore();
  let events: Capture;
  let proxyA: StoreProxy;
  let proxyB: StoreProxy;

  beforeAll(async () => {
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE, 'job.*');
    proxyA = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 16);
    proxyB = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 17);
    // The reconciler takes back jobs whose lease ran out (each second here).
    apps.push(await startApp('storage-events', { RECONCILER_INTERVAL_SECONDS: '1' }));
  });
  afterAll(async () => {
    for (const a of apps) if (a.process.signalCode === 'SIGSTOP' || a.process.exitCode === null) a.process.kill('SIGCONT');
    await Promise.all(apps.map((a) => stopApp(a, 'SIGKILL')));
    await events?.close();
    await proxyA?.close();
    await proxyB?.close();
    await db.close();
    store.close();
  });

  const job = async (id: string) => (await db.jobs([id]))[0];

  it('SIGSTOP past the lease, another processor takes the job, SIGCONT: no second handler write', async () => {
    // A is held in the middle of its job: its reads of the object wait at its proxy.
    proxyA.holdGets = true;
    const a = await startApp('job-processor', { ...LEASE, S3_ENDPOINT: proxyA.url }, { port: PORT_BASE + 3 });
    apps.push(a);
    const image = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 20, g: 120, b: 200 } } })
      .jpeg()
      .toBuffer();
    const [seeded] = await db.seedUploadedJobs(1, {
      type: JobType.THUMBNAIL,
      priority: 5,
      maxAttempts: 3,
      size: image.length,
      objectKey: (sid) => `uploads/${sid}/lease.jpg`,
    });
    await store.put(seeded.objectKey, image, 'image/jpeg');

    await waitFor(
      () => job(seeded.jobId),
      (j) => j.status === 'RUNNING' && j.attempts === 1,
      { timeoutMs: 60_000, intervalMs: 50, what: 'A to claim the job' },
    );
    await waitFor(
      async () => proxyA.heldGets,
      (n) => n > 0,
      { what: "A's read to be held" },
    );
    a.process.kill('SIGSTOP');

    // B is held too once it has the job, so that A resumes while B still runs it.
    proxyB.holdGets = true;
    apps.push(await startApp('job-processor', { ...LEASE, S3_ENDPOINT: proxyB.url }, { port: PORT_BASE + 4 }));
    await waitFor(
      () => job(seeded.jobId),
      (j) => j.status === 'RUNNING' && j.attempts === 2,
      { timeoutMs: 60_000, intervalMs: 50, what: 'B to take the job over' },
    );

    proxyA.releaseGets();
    a.process.kill('SIGCONT');
    const aLog = logFileOf(a);
    const finishedByA = () =>
      readFileSync(aLog, 'utf8')
        .split('\n')
        .filter((l) => l.includes(seeded.jobId) && l.includes('job finished'));
    // A either gives up (fixed) or writes its thumbnail (the fault): wait for whichever comes first.
    await waitFor(
      async () => ({ logged: finishedByA().length, puts: proxyA.puts.length }),
      (s) => s.logged > 0 || s.puts > 0,
      { timeoutMs: 30_000, what: 'A to react after SIGCONT' },
    );
    const putsByA = proxyA.requests.filter((r) => r.method === 'PUT');
    proxyB.releaseGets();

    const done = await waitFor(
      () => job(seeded.jobId),
      (j) => j.status === 'COMPLETED' || j.status === 'FAILED',
      { timeoutMs: 60_000, what: 'the job to finish' },
    );
    expect(putsByA).toEqual([]);
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(done.result).toMatchObject({ key: `thumbnails/${seeded.sessionId}/256.webp`, format: 'webp' });
    expect(await store.exists(`thumbnails/${seeded.sessionId}/256.webp`)).toBe(true);
    expect(JSON.parse(finishedByA()[0])).toMatchObject({ msg: 'job finished', outcome: 'lease-lost' });
    await waitFor(
      async () => events.messages.filter((m) => m.body.data.jobId === seeded.jobId).length,
      (n) => n >= 1,
      { what: 'job.completed' },
    );
    const jobEvents = events.messages.filter((m) => m.body.data.jobId === seeded.jobId);
    expect(jobEvents.map((m) => [m.routingKey, m.body.data.attempts])).toEqual([[DomainEventType.JobCompleted, 2]]);
  });
});
