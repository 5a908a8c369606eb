import { readFileSync } from 'node:fs';
import { logFileOf, startApp, stopApp, System } from '../support/apps';
import { anUpload, pngBytes, textBytes } from '../support/builders';
import { createUpload, getUpload, sendBytes, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import { waitFor } from '../support/poll';
import { TestStore } from '../support/store';
import { PORT_BASE } from '../support/test-env';

jest.setTimeout(180_000);

/**
 * What a user sees when they ask for a move the lifecycle does not allow, cancel a job the session needs, or delete
 * a file with a thumbnail; and what an operator sees when a setting is wrong. The processor runs VALIDATION and
 * THUMBNAIL only: a CHECKSUM job waits PENDING for as long as a test needs it to.
 */
describe('API transitions and configuration (e2e)', () => {
  let system: System;
  const store = new TestStore();

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION,THUMBNAIL' });
  });
  afterAll(async () => {
    await system?.stop();
    store.close();
  });

  /** An uploaded text file whose required CHECKSUM job waits (no processor takes it): the session stays PROCESSING. */
  async function processing() {
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes).with({ jobs: [{ type: 'CHECKSUM', required: true }] }));
    expect(await sendBytes(created, bytes)).toBe(200);
    const s = await waitFor(
      () => getUpload(created.id, created.caller),
      (u) => u.status === 'PROCESSING' && u.jobs.some((j: any) => j.type === 'VALIDATION' && j.status === 'COMPLETED'),
      { what: 'PROCESSING' },
    );
    return { created, checksum: s.jobs.find((j: any) => j.type === 'CHECKSUM') };
  }

  /** Created, sent and waited for until final; the caller kept. */
  async function toEnd(upload: ReturnType<typeof anUpload>, bytes: Buffer) {
    const created = await createUpload(upload);
    expect(await sendBytes(created, bytes)).toBe(200);
    return { created, done: await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']) };
  }

  it('abort after the upload is a 409 and changes nothing', async () => {
    const bytes = textBytes();
    const { created, done } = await toEnd(anUpload(bytes), bytes);
    expect(done.status).toBe('COMPLETED');
    const res = await api('POST', `/v1/uploads/${created.id}/abort`, { ...created.caller, body: {} });
    expect(res.status).toBe(409);
    expect((await getUpload(created.id, created.caller)).status).toBe('COMPLETED');
    expect(await store.exists(created.body.objectKey)).toBe(true);
  });

  it('a download after FAILED is a 409', async () => {
    const bytes = pngBytes();
    const { created, done } = await toEnd(anUpload(bytes).named('fake.pdf').ofType('application/pdf'), bytes);
    expect(done.status).toBe('FAILED');
    const res = await api('GET', `/v1/uploads/${created.id}/download`, created.caller);
    expect(res.status).toBe(409);
    expect(res.body.message).toMatch(/FAILED/);
  });

  it('DELETE during processing: the session is DELETED at once, its file gone; downloads are then a 409', async () => {
    const { created } = await processing();
    const res = await api('DELETE', `/v1/uploads/${created.id}`, created.caller);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('DELETED');
    expect(await store.exists(created.body.objectKey)).toBe(false);
    expect((await getUpload(created.id, created.caller)).status).toBe('DELETED');
    const download = await api('GET', `/v1/uploads/${created.id}/download`, created.caller);
    expect(download.status).toBe(409);
    expect(download.body.message).toMatch(/DELETED/);
  });

  it('a cancelled required job fails its session; the job is CANCELLED and cannot be cancelled again', async () => {
    const { created, checksum } = await processing();
    const cancelled = await api('POST', `/v1/jobs/${checksum.id}/cancel`, created.caller);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ id: checksum.id, status: 'CANCELLED' });
    const ended = await waitForStatus(created.id, created.caller, ['FAILED', 'COMPLETED']);
    expect(ended.status).toBe('FAILED');
    expect(ended.jobs.find((j: any) => j.id === checksum.id)).toMatchObject({ status: 'CANCELLED' });
    expect((await api('POST', `/v1/jobs/${checksum.id}/cancel`, created.caller)).status).toBe(409);
  });

  it('DELETE removes the thumbnails from the store too', async () => {
    const bytes = pngBytes(300, 200);
    const created = await createUpload(
      anUpload(bytes)
        .named('pic.png')
        .ofType('image/png')
        .with({ jobs: [{ type: 'THUMBNAIL', required: true }] }),
    );
    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    expect(done.jobs.find((j: any) => j.type === 'THUMBNAIL')).toMatchObject({ status: 'COMPLETED' });
    const thumbnail = `thumbnails/${created.id}/256.webp`;
    expect(done.thumbnail).toMatchObject({ key: thumbnail });
    expect(await store.exists(thumbnail)).toBe(true);

    expect((await api('DELETE', `/v1/uploads/${created.id}`, created.caller)).status).toBe(200);
    expect(await store.exists(created.body.objectKey)).toBe(false);
    expect(await store.exists(thumbnail)).toBe(false);
  });

  describe('configuration: an app exits at start naming the bad value', () => {
    it.each([
      ['job-processor', { JOB_TYPES: 'VALIDATION,NOPE' }, /JOB_TYPES: unknown job type\(s\) NOPE/],
      ['upload-gateway', { DEFAULT_JOBS: 'image/*=THUMBNAIL,SHRINK' }, /DEFAULT_JOBS: unknown job type\(s\) SHRINK/],
      ['storage-events', { AMQP_URL: 'rabbit.example:5672' }, /AMQP_URL must be an amqp:\/\/ URL/],
      ['upload-gateway', { S3_ENDPOINT: 'not a url' }, /S3_ENDPOINT/],
    ] as const)('%s with %j', async (name, env, message) => {
      const app = await startApp(name, env, { port: PORT_BASE + 7, waitReady: false });
      try {
        const code = await Promise.race([app.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000).unref())]);
        expect(code).not.toBe('still running');
        expect(code).not.toBe(0);
        const log = readFileSync(logFileOf(app), 'utf8');
        expect(log).toMatch(/Invalid configuration/);
        expect(log).toMatch(message);
      } finally {
        await stopApp(app, 'SIGKILL');
      }
    });
  });
});
