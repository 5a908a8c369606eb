import amqp from 'amqplib';
import { getPriority } from 'node:os';
import { JOB_TYPES, jobQueue, JobType } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { anUpload, pngBytes } from '../support/builders';
import { peekQueue } from '../support/broker';
import { TestStore } from '../support/store';
import { createUpload, getUpload, sendBytes, waitForStatus } from '../support/flows';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/** Consumers subscribe just after an app reports ready (and go on its exit): wait for the expected picture. */
async function expectConsumers(expected: Record<string, number>): Promise<void> {
  const seen = await waitFor(consumersPerQueue, (c) => JSON.stringify(c) === JSON.stringify(expected), { timeoutMs: 10_000 }).catch(() => consumersPerQueue());
  expect(seen).toEqual(expected);
}

async function consumersPerQueue(): Promise<Record<string, number>> {
  const conn = await amqp.connect(testEnv().AMQP_URL);
  const ch = await conn.createChannel();
  const out: Record<string, number> = {};
  for (const type of JOB_TYPES) out[jobQueue(type)] = (await ch.checkQueue(jobQueue(type))).consumerCount;
  await conn.close();
  return out;
}

/** Operators scale each job type on its own: a processor consumes exactly the queues of its JOB_TYPES. */
describe('processors per job type (e2e)', () => {
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    apps.push(...(await Promise.all([startApp('upload-gateway'), startApp('storage-events')])));
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => stopApp(a)));
  });

  it('two processors limited to different job types each consume only their own queues', async () => {
    const validation = await startApp('job-processor', { JOB_TYPES: 'VALIDATION', JOB_NICE: '7' }, { port: PORT_BASE + 3 });
    apps.push(validation);
    const images = await startApp('job-processor', { JOB_TYPES: 'METADATA,THUMBNAIL', JOB_NICE: '0' }, { port: PORT_BASE + 4 });
    apps.push(images);
    await expectConsumers({ 'jobs.validation': 1, 'jobs.checksum': 0, 'jobs.metadata': 1, 'jobs.thumbnail': 1 });
    // Each runs at the CPU priority it was given (JOB_NICE; 0 leaves the one it was started with).
    expect(getPriority(validation.process.pid!)).toBe(7);
    expect(getPriority(images.process.pid!)).toBe(getPriority());

    // With the image processor stopped, VALIDATION completes and THUMBNAIL waits in its queue for a processor of its type.
    await stopApp(images);
    apps.splice(apps.indexOf(images), 1);
    await expectConsumers({ 'jobs.validation': 1, 'jobs.checksum': 0, 'jobs.metadata': 0, 'jobs.thumbnail': 0 });
    const bytes = pngBytes(300, 200);
    const created = await createUpload(
      anUpload(bytes)
        .named('a.png')
        .ofType('image/png')
        .with({ jobs: [{ type: 'THUMBNAIL' }] }),
    );
    expect(await sendBytes(created, bytes)).toBe(200);
    await waitFor(
      () => getUpload(created.id, created.caller),
      (s) => s.jobs.some((j: any) => j.type === 'VALIDATION' && j.status === 'COMPLETED'),
      { what: 'VALIDATION' },
    );
    // The THUMBNAIL job's message is published and waits, ready, in its queue: nobody consumes it.
    const thumbnailJob = (await getUpload(created.id, created.caller)).jobs.find((j: any) => j.type === 'THUMBNAIL');
    await waitFor(
      async () => (await peekQueue(jobQueue(JobType.THUMBNAIL))).filter((m) => JSON.parse(m.body).jobId === thumbnailJob.id).length,
      (n) => n === 1,
      { what: 'the THUMBNAIL message waiting in its queue' },
    );
    const waiting = await getUpload(created.id, created.caller);
    expect(waiting.status).toBe('PROCESSING');
    expect(waiting.jobs.find((j: any) => j.type === 'THUMBNAIL')).toMatchObject({ status: 'PENDING', attempts: 0 });

    apps.push(await startApp('job-processor', { JOB_TYPES: 'THUMBNAIL' }, { port: PORT_BASE + 5 }));
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    // Taken by the THUMBNAIL-only processor on its first attempt, and its output is in the store.
    expect(done.jobs.find((j: any) => j.type === 'THUMBNAIL')).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    expect(done.thumbnail).toMatchObject({ key: `thumbnails/${created.id}/256.webp`, width: 256, height: 171 });
    const store = new TestStore();
    try {
      expect(await store.exists(done.thumbnail.key)).toBe(true);
    } finally {
      store.close();
    }
  });
});
