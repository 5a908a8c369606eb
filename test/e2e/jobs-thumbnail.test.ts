import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { DomainEventType, Topology } from '@app/contracts';
import { System } from '../support/apps';
import { Capture, peekQueue } from '../support/broker';
import { anUpload, textBytes } from '../support/builders';
import { createUpload, getUpload, sendBytes, uploadToEnd, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import { waitFor } from '../support/poll';
import { TestStore } from '../support/store';
import { testEnv } from '../support/test-env';

jest.setTimeout(90_000);

/** A real 640×480 JPEG, made here with sharp, with EXIF orientation 1. */
const jpeg = (w = 640, h = 480) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: 40, g: 120, b: 200 } } })
    .jpeg({ quality: 85 })
    .toBuffer();

/** A JPEG whose headers are intact (so it passes VALIDATION as image/jpeg) but whose image data is garbage. */
async function corruptJpeg(): Promise<Buffer> {
  const good = await jpeg();
  const sos = good.indexOf(Buffer.from([0xff, 0xda]));
  return Buffer.concat([good.subarray(0, sos + 20), Buffer.alloc(4000, 0x5a), Buffer.from([0xff, 0xd9])]);
}

const hex = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');

/** Image jobs end to end: a real JPEG in, a WebP thumbnail in storage, checksums and metadata on the session. */
describe('image jobs (e2e)', () => {
  let system: System;
  let events: Capture;
  const store = new TestStore();

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: '*' });
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE);
  });
  afterAll(async () => {
    await events?.close();
    await system?.stop();
    store.close();
  });

  it('a JPEG yields a WebP thumbnail in storage, its metadata and its checksums', async () => {
    const bytes = await jpeg();
    const created = await createUpload(
      anUpload(bytes)
        .named('photo.jpg')
        .ofType('image/jpeg')
        .with({ jobs: [{ type: 'THUMBNAIL' }, { type: 'METADATA' }, { type: 'CHECKSUM' }] }),
    );
    expect(await sendBytes(created, bytes)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED']);
    expect(done.status).toBe('COMPLETED');
    const byType = Object.fromEntries(done.jobs.map((j: any) => [j.type, j]));
    expect(Object.values(byType).map((j: any) => j.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);

    const key = `thumbnails/${done.id}/256.webp`;
    expect(byType.THUMBNAIL.result).toMatchObject({ key, width: 256, height: 192, format: 'webp' });
    expect(done.thumbnail).toMatchObject({ key, width: 256, height: 192, contentType: 'image/webp' });
    const stored = await store.get(key);
    expect(stored?.contentType).toBe('image/webp');
    expect(byType.THUMBNAIL.result.size).toBe(stored!.body.length);
    expect(await sharp(stored!.body).metadata()).toMatchObject({ format: 'webp', width: 256, height: 192 });

    expect(byType.METADATA.result).toEqual({
      size: bytes.length,
      mimeType: 'image/jpeg',
      extension: 'jpg',
      image: { width: 640, height: 480, format: 'jpeg', orientation: null },
    });
    expect(byType.CHECKSUM.result).toMatchObject({ sha256: hex('sha256', bytes), md5: hex('md5', bytes), size: bytes.length });
    expect(done).toMatchObject({ sha256: hex('sha256', bytes), md5: hex('md5', bytes) });

    // The thumbnail is handed out through a pre-signed GET.
    const link = await api('GET', `/v1/uploads/${done.id}/download?variant=thumbnail`, created.caller);
    expect(link.status).toBe(200);
    const fetched = await fetch(link.body.url);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(stored!.body)).toBe(true);
  });

  it('a corrupt JPEG fails its optional THUMBNAIL at once with a clear error, and the session completes', async () => {
    const done = await uploadToEnd(
      anUpload(await corruptJpeg())
        .named('broken.jpg')
        .ofType('image/jpeg')
        .with({ jobs: [{ type: 'THUMBNAIL', maxAttempts: 3 }] }),
    );
    expect(done.status).toBe('COMPLETED');
    const thumb = done.jobs.find((j: any) => j.type === 'THUMBNAIL');
    expect(thumb).toMatchObject({ status: 'FAILED', attempts: 1, required: false });
    expect(thumb.error).toMatch(/^image\/jpeg could not be decoded: VipsJpeg: /);
    expect(done.thumbnail).toBeNull();
    // Events go out after their commits (the session may complete in another transaction than the thumbnail's failure).
    await waitFor(
      async () => events.forSession(done.id, DomainEventType.JobFailed).length,
      (n) => n === 1,
      { what: 'job.failed' },
    );
    await waitFor(
      async () => events.forSession(done.id, DomainEventType.SessionCompleted).length,
      (n) => n >= 1,
      { what: 'session.completed' },
    );
    expect(events.forSession(done.id, DomainEventType.JobFailed)).toHaveLength(1);
    expect(events.forSession(done.id, DomainEventType.SessionCompleted)).toHaveLength(1);
    // The file's own fault, not an operator's: no dead letter.
    expect((await peekQueue(Topology.jobsDeadQueue)).filter((m) => m.body.includes(thumb.id))).toHaveLength(0);
  });

  it('a required THUMBNAIL of a text file fails permanently and fails the session', async () => {
    const done = await uploadToEnd(anUpload(textBytes()).with({ jobs: [{ type: 'THUMBNAIL', required: true }] }));
    expect(done).toMatchObject({ status: 'FAILED', error: 'THUMBNAIL_FAILED' });
    expect(done.jobs.find((j: any) => j.type === 'THUMBNAIL')).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      error: 'not an image this service can read (content is unrecognised)',
    });
  });

  describe('job and download routes', () => {
    it('download: 409 before the upload, a pre-signed GET after, 404 for someone else', async () => {
      const bytes = textBytes('download me');
      const created = await createUpload(anUpload(bytes).named('notes.txt'));
      const early = await api('GET', `/v1/uploads/${created.id}/download`, created.caller);
      expect(early.status).toBe(409);
      expect((await api('GET', `/v1/uploads/${created.id}/download`, { uploadToken: 'someone-else' })).status).toBe(404);
      expect((await api('GET', `/v1/uploads/${created.id}/download?variant=nope`, created.caller)).body.details?.[0]?.field).toBe('variant');

      expect(await sendBytes(created, bytes)).toBe(200);
      await waitForStatus(created.id, created.caller, ['COMPLETED']);
      const link = await api('GET', `/v1/uploads/${created.id}/download`, created.caller);
      expect(link.status).toBe(200);
      const res = await fetch(link.body.url);
      expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('download me');
      expect(res.headers.get('content-disposition')).toContain('notes.txt');
      expect((await api('GET', `/v1/uploads/${created.id}/download?variant=thumbnail`, created.caller)).status).toBe(409);
    });

    it('a job added to a COMPLETED upload runs, and the session stays COMPLETED; retry and cancel obey the lifecycle', async () => {
      const bytes = textBytes();
      const created = await createUpload(anUpload(bytes));
      expect(await sendBytes(created, bytes)).toBe(200);
      await waitForStatus(created.id, created.caller, ['COMPLETED']);

      expect((await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'NOPE' } })).status).toBe(400);
      expect((await api('POST', `/v1/uploads/${created.id}/jobs`, { uploadToken: 'x', body: { type: 'CHECKSUM' } })).status).toBe(404);
      const added = await api('POST', `/v1/uploads/${created.id}/jobs`, { ...created.caller, body: { type: 'THUMBNAIL', required: true, priority: 3 } });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ type: 'THUMBNAIL', status: 'PENDING', priority: 3, required: true });
      const failed = await waitFor(
        () => getUpload(created.id, created.caller),
        (s) => s.jobs.some((j: any) => j.id === added.body.id && j.status === 'FAILED'),
        { what: 'the added job to fail' },
      );
      expect(failed.status).toBe('COMPLETED');

      // Someone else's job is a 404; a FAILED job can be retried (a fresh budget on top, attempts keep counting), a COMPLETED one cannot.
      expect((await api('POST', `/v1/jobs/${added.body.id}/retry`, { uploadToken: 'x' })).status).toBe(404);
      expect((await api('POST', `/v1/jobs/not-a-uuid/retry`, created.caller)).status).toBe(404);
      const retried = await api('POST', `/v1/jobs/${added.body.id}/retry`, created.caller);
      expect(retried.status).toBe(200);
      const first = failed.jobs.find((j: any) => j.id === added.body.id);
      // Not an image: a permanent failure at its first attempt. The retry keeps that attempt and adds the budget (3).
      expect(first).toMatchObject({ attempts: 1, maxAttempts: 3 });
      expect(retried.body).toMatchObject({ status: 'PENDING', attempts: 1, maxAttempts: 4, error: first.error });
      const again = await waitFor(
        () => getUpload(created.id, created.caller),
        (s) => s.jobs.some((j: any) => j.id === added.body.id && j.status === 'FAILED'),
        { what: 'the retried job to fail again' },
      );
      expect(again.jobs.find((j: any) => j.id === added.body.id)).toMatchObject({ status: 'FAILED', attempts: 2, maxAttempts: 4 });
      const twice = await api('POST', `/v1/jobs/${added.body.id}/retry`, created.caller);
      expect(twice.body).toMatchObject({ status: 'PENDING', attempts: 2, maxAttempts: 5 });
      await waitFor(
        () => getUpload(created.id, created.caller),
        (s) => s.jobs.some((j: any) => j.id === added.body.id && j.status === 'FAILED'),
        { what: 'the job to fail a third time' },
      );
      const validation = failed.jobs.find((j: any) => j.type === 'VALIDATION');
      expect((await api('POST', `/v1/jobs/${validation.id}/retry`, created.caller)).status).toBe(409);
      expect((await api('POST', `/v1/jobs/${validation.id}/cancel`, created.caller)).status).toBe(409);

      const listed = await api('GET', `/v1/uploads/${created.id}/jobs`, created.caller);
      expect(listed.body.items.map((j: any) => j.type)).toEqual(['VALIDATION', 'THUMBNAIL']);
      expect((await getUpload(created.id, created.caller)).status).toBe('COMPLETED');
    });
  });
});
