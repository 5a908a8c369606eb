import { DomainEventType, JobType, Topology } from '@app/contracts';
import { startApp, RunningApp, stopApp } from '../support/apps';
import { Capture, peekQueue } from '../support/broker';
import { TestDb } from '../support/db';
import { waitFor } from '../support/poll';
import { TestStore } from '../support/store';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/**
 * Retries through the delay queues and the dead-letter queue, on a real processor. The transient failure is
 * a real one: CHECKSUM treats an object missing from storage as transient (a store that is not yet
 * consistent, or a deletion about to cancel the job), so a job whose object appears only after its second
 * attempt fails twice and then succeeds. Sessions and jobs are seeded in SQL (uploaded, with their outbox
 * message): nothing here needs the upload path, and the object must be absent at first.
 */
describe('job retries (e2e)', () => {
  let processor: RunningApp;
  let events: Capture;
  const db = new TestDb();
  const store = new TestStore();

  beforeAll(async () => {
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE, 'job.*');
    processor = await startApp('job-processor', { JOB_TYPES: 'CHECKSUM' });
  });
  afterAll(async () => {
    await events?.close();
    if (processor) await stopApp(processor);
    await db.close();
    store.close();
  });

  it('a job failing transiently twice then succeeding ends COMPLETED with attempts = 3, after growing delays', async () => {
    const [seeded] = await db.seedUploadedJobs(1, { type: JobType.CHECKSUM, priority: 5, maxAttempts: 3, size: 5 });
    const startedAt = new Map<number, number>();
    let restored = false;
    const done = await waitFor(
      async () => {
        const [job] = await db.jobs([seeded.jobId]);
        if (job.started_at) startedAt.set(job.attempts, job.started_at.getTime());
        if (!restored && job.attempts === 2 && job.status === 'PENDING') {
          restored = true;
          await store.put(seeded.objectKey, Buffer.from('hello'));
        }
        return job;
      },
      (job) => job.status === 'COMPLETED' || job.status === 'FAILED',
      { timeoutMs: 30_000, intervalMs: 50, what: 'the job to finish' },
    );
    expect(done).toMatchObject({ status: 'COMPLETED', attempts: 3, error: null });
    expect(done.result).toMatchObject({ size: 5, md5: '5d41402abc4b2a76b9719d911017c592' });
    const [first, second, third] = [1, 2, 3].map((n) => startedAt.get(n)!);
    const delays = [second - first, third - second];
    console.log(`retry delays between attempts: ${delays.join(' ms, ')} ms`);
    expect(delays[0]).toBeGreaterThanOrEqual(1_000);
    expect(delays[1]).toBeGreaterThanOrEqual(2_000);
    expect(delays[1]).toBeGreaterThan(delays[0]);
    expect(await db.session(seeded.sessionId)).toMatchObject({ status: 'COMPLETED', md5: '5d41402abc4b2a76b9719d911017c592' });
    await waitFor(
      async () => events.messages.filter((m) => m.body.data.jobId === seeded.jobId),
      (list) => list.length === 1,
      { what: 'job.completed' },
    );
  });

  it('a job that always fails ends FAILED after maxAttempts, with one message in the dead-letter queue', async () => {
    const [seeded] = await db.seedUploadedJobs(1, { type: JobType.CHECKSUM, priority: 5, maxAttempts: 3 });
    const done = await waitFor(
      async () => (await db.jobs([seeded.jobId]))[0],
      (j) => j.status === 'FAILED',
      { timeoutMs: 30_000, what: 'the job to fail' },
    );
    expect(done).toMatchObject({ attempts: 3, error: `object ${seeded.objectKey} is not in storage` });
    expect(await db.session(seeded.sessionId)).toMatchObject({ status: 'FAILED', error: 'CHECKSUM_FAILED' });

    const dead = await waitFor(
      async () => (await peekQueue(Topology.jobsDeadQueue)).filter((m) => JSON.parse(m.body).jobId === seeded.jobId),
      (list) => list.length >= 1,
      { what: 'the dead letter' },
    );
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0].body)).toMatchObject({ version: 1, jobId: seeded.jobId, type: 'CHECKSUM' });
    expect(dead[0].headers).toMatchObject({
      'x-dead-letter-reason': `gave up after 3 of 3 attempts: object ${seeded.objectKey} is not in storage`,
      'x-original-queue': 'jobs.checksum',
    });
    const failed = events.messages.filter((m) => m.body.data.jobId === seeded.jobId);
    expect(failed.map((m) => m.routingKey)).toEqual([DomainEventType.JobFailed]);
    expect(failed[0].body.data).toMatchObject({ status: 'FAILED', attempts: 3 });
  });
});
