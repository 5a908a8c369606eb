import { randomBytes, randomUUID } from 'node:crypto';
import { System } from '../support/apps';
import { Caller, waitForStatus } from '../support/flows';
import { api, ApiResponse, jwtFor } from '../support/http';
import { putPart } from '../support/multipart';

jest.setTimeout(120_000);

const MiB = 1024 ** 2;
const QUOTA = 40 * MiB;
const MAX_FILE = 12 * MiB;
/** Every part but the last holds at least 5 MiB: 12 MiB fit in parts 1..3, part 4 could only take the upload beyond. */
const SIGNABLE = 3;

/**
 * Issue 16, MEDIUM 3: Uppy's S3 routes declare no size. Before, such an upload reserved nothing of the quota and
 * got part URLs for 10,000 parts of any length; MAX_FILE_SIZE was only checked at completion, after the bytes
 * were stored. Now it reserves its ceiling (MAX_FILE_SIZE here) when created, settles to the stored size at
 * completion, gives it back when aborted, and part URLs beyond the ceiling are never signed.
 */
describe('security: uploads without a declared size (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    system = await System.start({ USER_QUOTA_BYTES: String(QUOTA), MAX_FILE_SIZE_BYTES: String(MAX_FILE), JOB_TYPES: 'VALIDATION' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  const newUser = (): Caller & { token: string } => ({ token: jwtFor(`unsized-${randomUUID()}`) });
  const startUppy = (user: { token: string }, name = 'clip.bin'): Promise<ApiResponse> =>
    api('POST', '/s3/multipart', { body: { filename: name, type: 'application/octet-stream', metadata: {} }, token: user.token });
  const createSized = (user: { token: string }, size: number): Promise<ApiResponse> =>
    api('POST', '/v1/uploads', { body: { filename: 'q.bin', contentType: 'application/octet-stream', size }, token: user.token });
  const partUrl = (user: { token: string }, created: ApiResponse, n: number | string): Promise<ApiResponse> =>
    api('GET', `/s3/multipart/${encodeURIComponent(created.body.uploadId)}/${n}?key=${encodeURIComponent(created.body.key)}`, { token: user.token });

  /** Exactly `free` bytes of the user's quota are left: that many fit (in files of MAX_FILE), one more does not. Fills the quota. */
  async function expectFree(user: { token: string }, free: number): Promise<void> {
    let left = free;
    for (; left >= MAX_FILE; left -= MAX_FILE) expect((await createSized(user, MAX_FILE)).status).toBe(201);
    expect((await createSized(user, left + 1)).status).toBe(413);
    if (left > 0) expect((await createSized(user, left)).status).toBe(201);
  }

  it('each unsized upload reserves its ceiling up front: the quota refuses the one that no longer fits', async () => {
    const user = newUser();
    for (let i = 0; i < 3; i++) expect((await startUppy(user, `c${i}.bin`)).status).toBe(200);
    // 36 of 40 MiB reserved: a fourth unsized upload (12 MiB) does not fit, nor does a declared 5 MiB.
    const refused = await startUppy(user, 'c3.bin');
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(refused.body.message).toContain(`${36 * MiB} of them are held`);
    const params = await api('GET', '/s3/params?filename=p.png&type=image%2Fpng', { token: user.token });
    expect(params.status).toBe(413);
    await expectFree(user, 4 * MiB);
  });

  it('part URLs whose number could take the upload beyond MAX_FILE_SIZE are never signed', async () => {
    const user = newUser();
    const created = await startUppy(user);
    expect((await partUrl(user, created, SIGNABLE)).status).toBe(200);
    const beyond = await partUrl(user, created, SIGNABLE + 1);
    expect(beyond.status).toBe(400);
    expect(beyond.body.details).toEqual([{ field: 'partNumbers', message: `must be within 1..${SIGNABLE}; got ${SIGNABLE + 1}` }]);
    expect((await partUrl(user, created, 10_000)).status).toBe(400);
    const q = `key=${encodeURIComponent(created.body.key)}`;
    const batch = await api('GET', `/s3/multipart/${encodeURIComponent(created.body.uploadId)}/batch?${q}&partNumbers=1,2,${SIGNABLE + 1}`, {
      token: user.token,
    });
    expect(batch.status).toBe(400);
    expect(batch.body.presignedUrls).toBeUndefined();
  });

  it('more bytes than the ceiling through the signable parts: refused at completion, the reservation given back on abort', async () => {
    const user = newUser();
    const created = await startUppy(user);
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (let n = 1; n <= SIGNABLE; n++) {
      const signed = await partUrl(user, created, n);
      const put = await putPart(signed.body.url, randomBytes(5 * MiB));
      expect(put.status).toBe(200);
      parts.push({ PartNumber: n, ETag: put.etag! });
    }
    const q = `key=${encodeURIComponent(created.body.key)}`;
    const u = encodeURIComponent(created.body.uploadId);
    const done = await api('POST', `/s3/multipart/${u}/complete?${q}`, { body: { parts }, token: user.token });
    expect(done.status).toBe(400);
    expect(done.body).toMatchObject({
      code: 'FILE_TOO_LARGE',
      details: [{ field: 'parts', message: `hold ${15 * MiB} bytes; at most ${MAX_FILE} are allowed` }],
    });
    expect((await api('DELETE', `/s3/multipart/${u}?${q}`, { token: user.token })).status).toBe(200);
    await expectFree(user, QUOTA);
  });

  it('completion settles the reservation to the stored size', async () => {
    const user = newUser();
    const created = await startUppy(user);
    const bytes = randomBytes(5 * MiB + 1000);
    const parts: { PartNumber: number; ETag: string }[] = [];
    for (const [n, chunk] of [
      [1, bytes.subarray(0, 5 * MiB)],
      [2, bytes.subarray(5 * MiB)],
    ] as const) {
      const put = await putPart((await partUrl(user, created, n)).body.url, chunk);
      parts.push({ PartNumber: n, ETag: put.etag! });
    }
    const q = `key=${encodeURIComponent(created.body.key)}`;
    const done = await api('POST', `/s3/multipart/${encodeURIComponent(created.body.uploadId)}/complete?${q}`, { body: { parts }, token: user.token });
    expect(done.status).toBe(200);
    expect(await waitForStatus(created.body.key.split('/')[1], user, ['COMPLETED', 'FAILED'])).toMatchObject({ status: 'COMPLETED', size: bytes.length });
    await expectFree(user, QUOTA - bytes.length);
  });

  it("Uppy's POST form reserves its ceiling and settles to the stored size when the store announces it", async () => {
    const user = newUser();
    const params = await api('GET', '/s3/params?filename=blob.bin&type=application%2Foctet-stream', { token: user.token });
    expect(params.status).toBe(200);
    // Reserved at once: only 28 MiB are left while the form is unused (and they are now taken).
    await expectFree(user, QUOTA - MAX_FILE);
    const bytes = randomBytes(3000);
    const form = new FormData();
    for (const [k, v] of Object.entries(params.body.fields as Record<string, string>)) form.append(k, v);
    form.append('file', new Blob([bytes], { type: 'application/octet-stream' }), 'blob.bin');
    const posted = await fetch(params.body.url, { method: 'POST', body: form });
    await posted.arrayBuffer();
    expect(posted.status).toBe(201);
    expect(await waitForStatus(params.body.fields.key.split('/')[1], user, ['COMPLETED', 'FAILED'])).toMatchObject({ status: 'COMPLETED', size: bytes.length });
    await expectFree(user, MAX_FILE - bytes.length);
  });
});
