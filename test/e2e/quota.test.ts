import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { anUpload, sha256Base64 } from '../support/builders';
import { Caller, createUpload, sendBytes, waitForStatus } from '../support/flows';
import { System } from '../support/apps';
import { api, ApiResponse, jwtFor } from '../support/http';
import { storeClient } from '../support/store';
import { testEnv } from '../support/test-env';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const QUOTA = 10 * MiB;

/**
 * The per-user storage quota (USER_QUOTA_BYTES = 10 MiB): sessions reserve their declared size when they
 * are created; a session that fails or is deleted gives its bytes back, exactly once. Checked the way a
 * user sees it: where the boundary lies (the last byte that fits is accepted, one more is a 413).
 */
describe('storage quota (e2e)', () => {
  let system: System;
  const env = testEnv();
  const { s3 } = storeClient();

  beforeAll(async () => {
    system = await System.start({ USER_QUOTA_BYTES: String(QUOTA), JOB_TYPES: 'VALIDATION' });
  });
  afterAll(async () => {
    s3.destroy();
    await system?.stop();
  });

  const newUser = (): Caller => ({ token: jwtFor(`quota-${randomUUID()}`) });
  const create = (caller: Caller, size: number, fields: Record<string, unknown> = {}): Promise<ApiResponse> =>
    api('POST', '/v1/uploads', { body: { filename: 'q.bin', contentType: 'application/octet-stream', size, ...fields }, token: caller.token });

  /** The user has exactly `free` bytes left: that many fit, one more does not. Leaves the quota full. */
  async function expectFree(caller: Caller, free: number): Promise<void> {
    if (free > 0) {
      const over = await create(caller, free + 1);
      expect(over.status).toBe(413);
      expect((await create(caller, free)).status).toBe(201);
    }
    expect((await create(caller, 1)).status).toBe(413);
  }

  it('a create beyond the quota is a 413 that names the quota; the last byte that fits is accepted', async () => {
    const user = newUser();
    expect((await create(user, 4 * MiB)).status).toBe(201);
    expect((await create(user, 4 * MiB)).status).toBe(201);
    const refused = await create(user, 3 * MiB);
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ statusCode: 413, code: 'QUOTA_EXCEEDED', details: [{ field: 'size' }] });
    expect(refused.body.message).toContain(`your quota is ${QUOTA} bytes`);
    expect(refused.body.message).toContain(`${8 * MiB} of them are held`);
    await expectFree(user, 2 * MiB);
    // Other users are not affected.
    expect((await create(newUser(), 10 * MiB)).status).toBe(201);
  });

  it('POST /v1/groups is all or nothing: files that together exceed the quota create no group and no session; ones that fit are all charged', async () => {
    const user = newUser();
    const files = (sizes: number[]) => sizes.map((size, i) => ({ filename: `g${i}.bin`, contentType: 'application/octet-stream', size }));
    expect((await create(user, 3 * MiB)).status).toBe(201);
    // 3 MiB held: 4 + 4 MiB would fit one by one only up to the second file.
    const over = await api('POST', '/v1/groups', { body: { name: 'too big', files: files([4 * MiB, 4 * MiB]) }, token: user.token });
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ statusCode: 413, code: 'QUOTA_EXCEEDED' });
    // Nothing of it exists: no group listed, no session listed, and the quota still has exactly 7 MiB free.
    expect((await api('GET', '/v1/groups?limit=100', { token: user.token })).body.items).toEqual([]);
    expect((await api('GET', '/v1/uploads?limit=100', { token: user.token })).body.items).toHaveLength(1);
    const fits = await api('POST', '/v1/groups', { body: { name: 'fits', files: files([3 * MiB, 4 * MiB]) }, token: user.token });
    expect(fits.status).toBe(201);
    expect(fits.body.uploads).toHaveLength(2);
    expect((await api('GET', '/v1/uploads?limit=100', { token: user.token })).body.items).toHaveLength(3);
    await expectFree(user, 0);
  });

  it('a single file larger than the whole quota is refused at once', async () => {
    const res = await create(newUser(), QUOTA + 1);
    expect(res.status).toBe(413);
    expect(res.body.message).toContain(`your quota is ${QUOTA} bytes`);
  });

  it('a session that FAILED (validation) gives its bytes back, and a DELETED one too', async () => {
    const user = newUser();
    const bytesA = Buffer.alloc(4 * MiB, 'a');
    const bytesB = Buffer.alloc(4 * MiB, 'b');
    // A declares a checksum its bytes do not have: the VALIDATION job fails it.
    const a = await createUpload(
      anUpload(bytesA)
        .ofType('application/octet-stream')
        .withChecksum(sha256Base64(Buffer.from('other'))),
      user,
    );
    const b = await createUpload(anUpload(bytesB).ofType('application/octet-stream'), user);
    await expectFree(user, 2 * MiB);

    expect(await sendBytes(a, bytesA)).toBe(200);
    expect(await waitForStatus(a.id, user, ['FAILED', 'COMPLETED'])).toMatchObject({ status: 'FAILED', error: 'VALIDATION_FAILED' });
    await expectFree(user, 4 * MiB);

    expect(await sendBytes(b, bytesB)).toBe(200);
    await waitForStatus(b.id, user, ['COMPLETED']);
    // A stored file still counts.
    expect((await create(user, 1)).status).toBe(413);
    // Removed from storage: the store's notification makes the session DELETED.
    await s3.send(new DeleteObjectCommand({ Bucket: env.S3_BUCKET, Key: b.body.objectKey }));
    await waitForStatus(b.id, user, ['DELETED']);
    await expectFree(user, 4 * MiB);
  });

  it('a session that FAILED on a size mismatch gives its bytes back', async () => {
    const user = newUser();
    const s = await create(user, 6 * MiB);
    expect(s.status).toBe(201);
    expect((await create(user, 5 * MiB)).status).toBe(413);
    // Bytes that bypassed the pre-signed URL (another size) reach the store: the session fails SIZE_MISMATCH.
    await s3.send(
      new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: s.body.objectKey, Body: Buffer.from('ten bytes!'), ContentType: 'application/octet-stream' }),
    );
    expect(await waitForStatus(s.body.id, user, ['FAILED'])).toMatchObject({ error: 'SIZE_MISMATCH' });
    await expectFree(user, 10 * MiB);
  });

  it('concurrent creations cannot overshoot the quota', async () => {
    const user = newUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => create(user, 3 * MiB)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 413, 413, 413, 413, 413]);
    await expectFree(user, 1 * MiB);
  });

  it('anonymous sessions are not charged to any quota (bounded by the size limit and the per-IP rate limit)', async () => {
    expect((await create({}, 8 * MiB)).status).toBe(201);
    expect((await create({}, 8 * MiB)).status).toBe(201);
  });
});
