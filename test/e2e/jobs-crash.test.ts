import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DomainEventType } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { Capture } from '../support/broker';
import { anUpload } from '../support/builders';
import { createUpload, getUpload, sendBytes, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import { TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { Counted, jobOutcome, outboxDrained } from '../support/outcomes';
import { NS, PORT_BASE, ROOT, testEnv } from '../support/test-env';

jest.setTimeout(180_000);

const BIG = 96 * 1024 * 1024;
/** Short leases so a dead processor's job is taken over quickly, and frequent renewals so a cancel is noticed fast. */
const PROCESSOR_ENV = { JOB_TYPES: 'CHECKSUM', JOB_LEASE_SECONDS: '5', JOB_LEASE_RENEWAL_MS: '300', JOB_CONCURRENCY: '1' };

/**
 * A processor dies (SIGKILL) in the middle of a slow job (CHECKSUM of a large object): its unacked message
 * comes back, waits out the dead processor's lease in a delay stage, and another instance takes the job over.
 * Then a running job is cancelled over the API and its processor stops.
 */
describe('processor crash and cancel (e2e)', () => {
  const apps: RunningApp[] = [];
  let events: Capture;
  const db = new TestDb();
  const bytes = randomBytes(BIG);

  beforeAll(async () => {
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE);
    const env = { MULTIPART_THRESHOLD_BYTES: String(1024 ** 3) };
    apps.push(...(await Promise.all([startApp('upload-gateway', env), startApp('storage-events'), startApp('job-processor', { JOB_TYPES: 'VALIDATION' })])));
  });
  afterAll(async () => {
    await events?.close();
    await Promise.all(apps.map((a) => stopApp(a)));
    await db.close();
  });

  const runningJob = (id: string) =>
    waitFor(
      async () => (await db.jobs([id]))[0],
      (j) => j.status === 'RUNNING' || j.status === 'COMPLETED',
      { timeoutMs: 60_000, intervalMs: 25, what: `job ${id} running` },
    );

  it('another instance completes the job of a killed processor; the session completes once, with one set of events', async () => {
    const first = await startApp('job-processor', PROCESSOR_ENV, { port: PORT_BASE + 3 });
    apps.push(first);
    const validationCounted = await Counted.from(PORT_BASE + 2);
    const created = await createUpload(
      anUpload(bytes)
        .named('big.bin')
        .ofType('application/octet-stream')
        .with({ jobs: [{ type: 'CHECKSUM', required: true }] }),
    );
    expect(await sendBytes(created, bytes)).toBe(200);
    const checksumJob = await waitFor(
      () => getUpload(created.id, created.caller),
      (s) => s.jobs.some((j: any) => j.type === 'CHECKSUM'),
      { what: 'the jobs' },
    ).then((s) => s.jobs.find((j: any) => j.type === 'CHECKSUM'));
    const seen = await runningJob(checksumJob.id);
    expect(seen.status).toBe('RUNNING');
    first.process.kill('SIGKILL');
    await first.exited;

    apps.push(await startApp('job-processor', PROCESSOR_ENV, { port: PORT_BASE + 4 }));
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'], 60_000);
    expect(done.status).toBe('COMPLETED');
    const job = done.jobs.find((j: any) => j.id === checksumJob.id);
    expect(job).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(done.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    await waitFor(
      async () => events.forSession(created.id, DomainEventType.SessionCompleted).length,
      (n) => n >= 1,
      { what: 'session.completed' },
    );
    // The work counted (the VALIDATION job's message and the taken-over CHECKSUM message each handled), what it wrote
    // published, and every published event received: then the counts below are the whole story.
    const counted = validationCounted.and(Counted.fresh(PORT_BASE + 4));
    await counted.atLeast(jobOutcome(PORT_BASE + 2, { type: 'VALIDATION' }), 1);
    await counted.atLeast(jobOutcome(PORT_BASE + 4, { type: 'CHECKSUM', outcome: 'completed' }), 1);
    await outboxDrained();
    await events.fence();
    // The job ran to an outcome once (its message may also have been seen early, while the dead lease still held it,
    // and sent to wait: that is counted as another outcome, not a run).
    expect(await counted.since(jobOutcome(PORT_BASE + 4, { type: 'CHECKSUM', outcome: 'completed' }))).toBe(1);
    expect(await counted.since(jobOutcome(PORT_BASE + 4, { type: 'CHECKSUM', outcome: 'failed' }))).toBe(0);
    // Distinct events: a process killed between the broker's confirm and the outbox row's delete has its rows
    // published again by another (same message id, the documented at-least-once delivery consumers dedupe on).
    const distinct = (t: string) => new Set(events.forSession(created.id, t).map((e) => e.body.id)).size;
    const counts = Object.fromEntries(
      [
        DomainEventType.SessionUploaded,
        DomainEventType.SessionProcessing,
        DomainEventType.SessionCompleted,
        DomainEventType.JobCompleted,
        DomainEventType.JobFailed,
      ].map((t) => [t, distinct(t)]),
    );
    // VALIDATION and CHECKSUM each complete once.
    expect(counts).toEqual({ 'session.uploaded': 1, 'session.processing': 1, 'session.completed': 1, 'job.completed': 2, 'job.failed': 0 });
    expect(
      new Set(
        events
          .forSession(created.id, DomainEventType.JobCompleted)
          .filter((e) => e.body.data.jobId === checksumJob.id)
          .map((e) => e.body.id),
      ).size,
    ).toBe(1);

    // A running job cancelled over the API notices at its next lease renewal and stops; the session, COMPLETED, stays so.
    const added = await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'CHECKSUM' } });
    expect(added.status).toBe(201);
    expect((await runningJob(added.body.id)).status).toBe('RUNNING');
    const cancelled = await api('POST', `/v1/jobs/${added.body.id}/cancel`, created.caller);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'CANCELLED', error: 'cancelled by request' });
    const log = join(ROOT, '.e2e', NS, 'logs', `job-processor-${apps[apps.length - 1].instance}.log`);
    const stopped = await waitFor(
      async () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .find((l) => l.includes(added.body.id) && l.includes('job finished')),
      (line) => line !== undefined,
      { timeoutMs: 10_000, what: 'the processor to stop the cancelled job' },
    );
    expect(JSON.parse(stopped!)).toMatchObject({ msg: 'job finished', outcome: 'cancelled' });
    const after = await getUpload(created.id, created.caller);
    expect(after.status).toBe('COMPLETED');
    expect(after.jobs.find((j: any) => j.id === added.body.id)).toMatchObject({ status: 'CANCELLED', result: null });
  });
});
