import { CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DomainEventType } from '@app/contracts';
import { System } from '../support/apps';
import { Capture } from '../support/broker';
import { anUpload, textBytes } from '../support/builders';
import { Caller, createUpload, getUpload, sendBytes, waitForStatus } from '../support/flows';
import { api } from '../support/http';
import {
  inParallel,
  listPartsStatus,
  multipartUploadsUnder,
  objectExists,
  putPart,
  readSlice,
  storeClient,
  storedSha256,
  writeDeterministicFile,
} from '../support/multipart';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

jest.setTimeout(180_000);

const MiB = 1024 ** 2;

/** A multipart upload as a client sees it: the session, its instructions, and who may act on it. */
interface Multipart {
  id: string;
  objectKey: string;
  uploadId: string;
  partSize: number;
  totalParts: number;
  urls: Map<number, string>;
  caller: Caller;
}

async function createMultipart(path: string, size: number, partSize = 5 * MiB, filename = 'big.bin'): Promise<Multipart> {
  const created = await createUpload(
    anUpload(Buffer.alloc(0)).named(filename).ofType('application/octet-stream').declaringSize(size).with({ multipart: true, partSize }),
  );
  const u = created.body.upload;
  expect(u).toMatchObject({ strategy: 'MULTIPART', partSize, totalParts: Math.ceil(size / partSize), uploadId: expect.any(String) });
  return {
    id: created.id,
    objectKey: created.body.objectKey,
    uploadId: u.uploadId,
    partSize,
    totalParts: u.totalParts,
    urls: new Map(u.parts.map((p: { partNumber: number; url: string }) => [p.partNumber, p.url])),
    caller: created.caller,
  };
}

/** Sends parts from the file; records every part number it sent. */
async function sendParts(m: Multipart, path: string, size: number, partNumbers: number[], sent: number[], parallel = 4): Promise<void> {
  await inParallel(partNumbers, parallel, async (n) => {
    const start = (n - 1) * m.partSize;
    const body = await readSlice(path, start, Math.min(m.partSize, size - start));
    const url = m.urls.get(n);
    if (!url) throw new Error(`no URL for part ${n}`);
    const res = await putPart(url, body);
    if (res.status !== 200 || !res.etag) throw new Error(`part ${n}: store answered ${res.status}`);
    sent.push(n);
  });
}

describe('multipart uploads (e2e)', () => {
  let system: System;
  let events: Capture;
  let dir: string;
  const env = testEnv();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mp-e2e-'));
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
    events = await Capture.on(env.DOMAIN_EVENTS_EXCHANGE);
  });

  afterAll(async () => {
    await events?.close();
    await system?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('100 MiB in 5 MiB parts, 4 in parallel, straight to the store: COMPLETED, and the stored bytes are the source', async () => {
    const size = 100 * MiB;
    const path = join(dir, 'hundred.bin');
    const sha = await writeDeterministicFile(path, size, 'hundred');
    const m = await createMultipart(path, size);
    expect(m.totalParts).toBe(20);
    expect(m.urls.size).toBe(20);

    const sent: number[] = [];
    const t0 = Date.now();
    await sendParts(m, path, size, [...m.urls.keys()], sent, 4);
    const secs = (Date.now() - t0) / 1000;
    console.log(`100 MiB multipart upload: 20 parts of 5 MiB, 4 in parallel, ${secs.toFixed(2)} s, ${(100 / secs).toFixed(1)} MiB/s`);

    const done = await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken });
    expect(done.status).toBe(200);
    expect(['UPLOADED', 'PROCESSING', 'COMPLETED']).toContain(done.body.status);
    const final = await waitForStatus(m.id, m.caller, ['COMPLETED', 'FAILED'], 60_000);
    expect(final).toMatchObject({ status: 'COMPLETED', size, totalParts: 20, completedParts: 20, parts: { total: 20, uploaded: 20, uploadedBytes: size } });
    expect(final.jobs).toEqual([expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED', result: expect.objectContaining({ size }) })]);
    expect(await storedSha256(m.objectKey)).toBe(sha);
    expect(await multipartUploadsUnder(m.objectKey)).toEqual([]);
    await waitFor(
      async () => events.forSession(m.id, DomainEventType.SessionCompleted).length,
      (n) => n === 1,
      { what: 'session.completed' },
    );
    expect(events.forSession(m.id, DomainEventType.SessionUploaded)).toHaveLength(1);

    // Completing again changes nothing.
    const again = await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('COMPLETED');
  });

  it('resumes: a new client asks which parts the store holds and sends only the missing ones', async () => {
    const size = 27 * MiB + 123;
    const path = join(dir, 'resume.bin');
    const sha = await writeDeterministicFile(path, size, 'resume');
    const first = await createMultipart(path, size);
    expect(first.totalParts).toBe(6);

    const sentByFirst: number[] = [];
    await sendParts(first, path, size, [1, 2, 4], sentByFirst, 2);
    // The first client is gone. A second one knows only the session id and its token.
    const second: Multipart = { ...first, urls: new Map() };
    const listed = await api('GET', `/v1/uploads/${first.id}/parts`, { uploadToken: first.caller.uploadToken });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ status: 'UPLOADING', totalParts: 6, completedParts: 3, missingPartNumbers: [3, 5, 6] });
    expect(listed.body.parts.map((p: { partNumber: number; size: number }) => [p.partNumber, p.size])).toEqual([
      [1, 5 * MiB],
      [2, 5 * MiB],
      [4, 5 * MiB],
    ]);
    const firstEtags = listed.body.parts.map((p: { etag: string }) => p.etag);

    const signed = await api('POST', `/v1/uploads/${first.id}/parts`, {
      body: { partNumbers: listed.body.missingPartNumbers },
      uploadToken: first.caller.uploadToken,
    });
    expect(signed.status).toBe(200);
    expect(signed.body.parts.map((p: { partNumber: number; size: number }) => [p.partNumber, p.size])).toEqual([
      [3, 5 * MiB],
      [5, 5 * MiB],
      [6, 2 * MiB + 123],
    ]);
    for (const p of signed.body.parts) second.urls.set(p.partNumber, p.url);
    const sentBySecond: number[] = [];
    await sendParts(second, path, size, listed.body.missingPartNumbers, sentBySecond, 4);
    expect(sentBySecond.sort()).toEqual([3, 5, 6]);

    const relisted = await api('GET', `/v1/uploads/${first.id}/parts`, { uploadToken: first.caller.uploadToken });
    expect(relisted.body.missingPartNumbers).toEqual([]);
    // The parts of the first client are the very ones it sent: nothing was sent again.
    expect(relisted.body.parts.filter((p: { partNumber: number }) => [1, 2, 4].includes(p.partNumber)).map((p: { etag: string }) => p.etag)).toEqual(
      firstEtags,
    );

    const done = await api('POST', `/v1/uploads/${first.id}/complete`, { body: {}, uploadToken: first.caller.uploadToken });
    expect(done.status).toBe(200);
    const final = await waitForStatus(first.id, first.caller, ['COMPLETED', 'FAILED'], 60_000);
    expect(final.status).toBe('COMPLETED');
    expect(await storedSha256(first.objectKey)).toBe(sha);
  });

  it('abort leaves no trace in the store; the session is FAILED (ABORTED) and cannot be completed', async () => {
    const size = 12 * MiB;
    const path = join(dir, 'abort.bin');
    await writeDeterministicFile(path, size, 'abort');
    const m = await createMultipart(path, size);
    await sendParts(m, path, size, [1, 2], [], 2);
    expect(await multipartUploadsUnder(m.objectKey)).toEqual([m.uploadId]);

    const aborted = await api('POST', `/v1/uploads/${m.id}/abort`, { body: {}, uploadToken: m.caller.uploadToken });
    expect(aborted.status).toBe(200);
    expect(aborted.body).toMatchObject({ status: 'FAILED', error: 'ABORTED' });
    expect(await multipartUploadsUnder(m.objectKey)).toEqual([]);
    expect(await listPartsStatus(m.objectKey, m.uploadId)).toBe(404);
    expect(await objectExists(m.objectKey)).toBe(false);
    await waitFor(
      async () => events.forSession(m.id, DomainEventType.SessionFailed).length,
      (n) => n === 1,
      { what: 'session.failed' },
    );

    // Aborting again is fine; completing, listing or signing an aborted upload is a clear 409.
    expect((await api('POST', `/v1/uploads/${m.id}/abort`, { body: {}, uploadToken: m.caller.uploadToken })).status).toBe(200);
    const complete = await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken });
    expect(complete.status).toBe(409);
    expect(complete.body.message).toMatch(/FAILED \(ABORTED\)/);
    expect((await api('GET', `/v1/uploads/${m.id}/parts`, { uploadToken: m.caller.uploadToken })).status).toBe(409);
    expect((await api('POST', `/v1/uploads/${m.id}/parts`, { body: { partNumbers: [3] }, uploadToken: m.caller.uploadToken })).status).toBe(409);
    const after = await getUpload(m.id, m.caller);
    expect(after).toMatchObject({ status: 'FAILED', error: 'ABORTED' });
    expect(events.forSession(m.id, DomainEventType.SessionFailed)).toHaveLength(1);
  });

  it('past its expiresAt: part URLs and completion are a 410 UPLOAD_EXPIRED naming the upload; nothing is completed', async () => {
    const size = 6 * MiB;
    const path = join(dir, 'expired.bin');
    await writeDeterministicFile(path, size, 'expired');
    const m = await createMultipart(path, size);
    await sendParts(m, path, size, [1, 2], [], 2);
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      // The reconciler's election lock, held by the test: no pass expires the session meanwhile.
      await db.query('select pg_advisory_lock($1::bigint)', [0x75706c64]);
      await db.query(`update upload_session set expires_at = now() - interval '1 second' where id = $1`, [m.id]);
      const sign = await api('POST', `/v1/uploads/${m.id}/parts`, { body: { partNumbers: [2] }, uploadToken: m.caller.uploadToken });
      expect(sign.status).toBe(410);
      expect(sign.body).toMatchObject({ code: 'UPLOAD_EXPIRED', message: expect.stringContaining(m.id) });
      const complete = await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken });
      expect(complete.status).toBe(410);
      expect(complete.body).toMatchObject({ code: 'UPLOAD_EXPIRED', message: expect.stringContaining(m.id) });
      expect(await objectExists(m.objectKey)).toBe(false);
      expect(await multipartUploadsUnder(m.objectKey)).toEqual([m.uploadId]);
    } finally {
      await db.end();
    }
  });

  describe('bad input: a clear 4xx, and no damage', () => {
    it('part numbers outside 1..totalParts', async () => {
      const m = await createMultipart(join(dir, 'none'), 11 * MiB);
      for (const partNumbers of [[0], [4], [1, 3, 4], [-1], ['2'], []]) {
        const res = await api('POST', `/v1/uploads/${m.id}/parts`, { body: { partNumbers }, uploadToken: m.caller.uploadToken });
        expect(res.status).toBe(400);
        expect(res.body.details.map((d: { field: string }) => d.field)).toContain('partNumbers');
      }
      const complete = await api('POST', `/v1/uploads/${m.id}/complete`, {
        body: { parts: [{ partNumber: 4, etag: 'x' }] },
        uploadToken: m.caller.uploadToken,
      });
      expect(complete.status).toBe(400);
      expect(complete.body.details[0].field).toBe('parts[0].partNumber');
      expect(await getUpload(m.id, m.caller)).toMatchObject({ status: 'PENDING_UPLOAD', totalParts: 3, completedParts: 0 });
      expect(await multipartUploadsUnder(m.objectKey)).toEqual([m.uploadId]);
    });

    it('completing with a missing part or a wrong ETag, then finishing properly', async () => {
      const size = 10 * MiB + 5;
      const path = join(dir, 'missing.bin');
      const sha = await writeDeterministicFile(path, size, 'missing');
      const m = await createMultipart(path, size);
      await sendParts(m, path, size, [1, 3], [], 2);
      const missing = await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken });
      expect(missing.status).toBe(409);
      expect(missing.body.details).toEqual([{ field: 'parts', message: 'missing in storage: 2' }]);
      const wrongEtag = await api('POST', `/v1/uploads/${m.id}/complete`, {
        body: { parts: [{ partNumber: 1, etag: '"0123"' }] },
        uploadToken: m.caller.uploadToken,
      });
      expect(wrongEtag.status).toBe(400);
      expect(wrongEtag.body.details[0].field).toBe('parts[0].etag');
      expect(await getUpload(m.id, m.caller)).toMatchObject({ status: 'UPLOADING', completedParts: 2 });

      await sendParts(m, path, size, [2], [], 1);
      expect((await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken })).status).toBe(200);
      expect((await waitForStatus(m.id, m.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
      expect(await storedSha256(m.objectKey)).toBe(sha);
    });

    it('a part of another size than signed is refused by the store', async () => {
      const m = await createMultipart(join(dir, 'none'), 11 * MiB);
      expect((await putPart(m.urls.get(1)!, Buffer.alloc(5 * MiB - 1))).status).toBe(403);
      expect(await getUpload(m.id, m.caller)).toMatchObject({ status: 'PENDING_UPLOAD', completedParts: 0 });
    });

    it.each([
      ['below 5 MiB', 5 * MiB - 1],
      ['above 5 GiB', 5 * 1024 * MiB + 1],
      ['that is not a number', '8388608'],
    ])('a part size %s', async (_, partSize) => {
      // (More than 10,000 parts cannot happen within the default 5 GiB maximum; the unit tests cover it.)
      const res = await api('POST', '/v1/uploads', {
        body: { filename: 'x.bin', contentType: 'application/octet-stream', size: 100 * MiB, multipart: true, partSize },
      });
      expect(res.status).toBe(400);
      expect(new Set(res.body.details.map((d: { field: string }) => d.field))).toEqual(new Set(['partSize']));
    });

    it("someone else's upload is a 404", async () => {
      const m = await createMultipart(join(dir, 'none'), 6 * MiB);
      const calls: [string, string, unknown][] = [
        ['GET', 'parts', undefined],
        ['POST', 'parts', { partNumbers: [1] }],
        ['POST', 'complete', {}],
        ['POST', 'abort', {}],
      ];
      for (const [method, path, body] of calls) {
        const res = await api(method, `/v1/uploads/${m.id}/${path}`, { body, uploadToken: 'someone-else' });
        expect(res.status).toBe(404);
      }
      expect((await getUpload(m.id, m.caller)).status).toBe('PENDING_UPLOAD');
    });
  });

  it("the store's CompleteMultipartUpload notification alone drives the session (the gateway never heard of the completion)", async () => {
    const size = 5 * MiB + 1;
    const path = join(dir, 'notified.bin');
    await writeDeterministicFile(path, size, 'notified');
    const m = await createMultipart(path, size);
    await sendParts(m, path, size, [1, 2], [], 2);
    const listed = await api('GET', `/v1/uploads/${m.id}/parts`, { uploadToken: m.caller.uploadToken });
    const { s3, bucket } = storeClient();
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: m.objectKey,
        UploadId: m.uploadId,
        MultipartUpload: { Parts: listed.body.parts.map((p: { partNumber: number; etag: string }) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
      }),
    );
    expect((await waitForStatus(m.id, m.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    // The client's complete arriving after the notification is fine.
    expect((await api('POST', `/v1/uploads/${m.id}/complete`, { body: {}, uploadToken: m.caller.uploadToken })).body.status).toBe('COMPLETED');
  });

  it('complete on a single PUT confirms the object (or says it is not there yet)', async () => {
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes));
    const early = await api('POST', `/v1/uploads/${created.id}/complete`, { body: {}, uploadToken: created.caller.uploadToken });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('OBJECT_NOT_IN_STORAGE');
    expect(await sendBytes(created, bytes)).toBe(200);
    const confirmed = await api('POST', `/v1/uploads/${created.id}/complete`, { body: {}, uploadToken: created.caller.uploadToken });
    expect(confirmed.status).toBe(200);
    expect(['UPLOADED', 'PROCESSING', 'COMPLETED']).toContain(confirmed.body.status);
    expect((await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    expect(events.forSession(created.id, DomainEventType.SessionUploaded)).toHaveLength(1);
  });
});
