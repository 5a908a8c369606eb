import { randomUUID } from 'node:crypto';
import { anUpload, sha256Base64, textBytes } from '../support/builders';
import { Caller, uploadToEnd } from '../support/flows';
import { System } from '../support/apps';
import { api, jwtFor } from '../support/http';

jest.setTimeout(180_000);

const caller = (prefix: string, roles: string[] = []): Caller => ({ token: jwtFor(`${prefix}-${randomUUID()}`, { roles }) });
const check = (who: Caller, files: unknown) => api('POST', '/v1/uploads/check', { body: { files }, token: who.token });
const key = (bytes: Buffer) => ({ checksumSha256: sha256Base64(bytes), size: bytes.length });

/**
 * Instant uploads (issue 22): POST /v1/uploads/check answers which files the caller already holds, only
 * among the caller's own COMPLETED uploads.
 */
describe('instant uploads (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  describe('POST /v1/uploads/check', () => {
    it("finds the caller's own COMPLETED upload by SHA-256 and size, in the order asked; other sizes, contents and users find nothing", async () => {
      const owner = caller('check-owner');
      const bytes = textBytes();
      const stored = await uploadToEnd(anUpload(bytes).withChecksum(), owner);
      expect(stored.status).toBe('COMPLETED');
      const unknown = textBytes();

      const res = await check(owner, [key(unknown), key(bytes), { ...key(bytes), size: bytes.length + 1 }, key(bytes)]);
      expect(res.status).toBe(200);
      expect(res.body.files).toEqual([
        { ...key(unknown), exists: false, duplicateOf: null },
        { ...key(bytes), exists: true, duplicateOf: stored.id },
        { ...key(bytes), size: bytes.length + 1, exists: false, duplicateOf: null },
        { ...key(bytes), exists: true, duplicateOf: stored.id },
      ]);

      // Another user, and an admin, asking about the same content: nothing (a cross-user answer would leak it).
      for (const other of [caller('check-other'), caller('check-admin', ['admin'])]) {
        const theirs = await check(other, [key(bytes)]);
        expect(theirs.status).toBe(200);
        expect(theirs.body.files).toEqual([{ ...key(bytes), exists: false, duplicateOf: null }]);
      }
    });

    it("an admin's check finds the admin's own uploads", async () => {
      const admin = caller('check-admin', ['admin']);
      const bytes = textBytes();
      const stored = await uploadToEnd(anUpload(bytes).withChecksum(), admin);
      expect((await check(admin, [key(bytes)])).body.files).toEqual([{ ...key(bytes), exists: true, duplicateOf: stored.id }]);
    });

    it('a FAILED or DELETED upload, or one that declared no checksum, is not held', async () => {
      const owner = caller('check-gone');
      const failedBytes = textBytes();
      // Declares the checksum of other bytes: VALIDATION fails it (the checksum was never the content's).
      const failed = await uploadToEnd(anUpload(failedBytes).withChecksum(sha256Base64(textBytes())), owner);
      expect(failed.status).toBe('FAILED');
      const deletedBytes = textBytes();
      const deleted = await uploadToEnd(anUpload(deletedBytes).withChecksum(), owner);
      expect((await api('DELETE', `/v1/uploads/${deleted.id}`, { token: owner.token })).status).toBe(200);
      const plainBytes = textBytes();
      expect((await uploadToEnd(anUpload(plainBytes), owner)).status).toBe('COMPLETED');

      const res = await check(owner, [{ checksumSha256: failed.checksumSha256, size: failedBytes.length }, key(deletedBytes), key(plainBytes)]);
      expect(res.body.files.map((f: { exists: boolean }) => f.exists)).toEqual([false, false, false]);
    });

    it('bad input is a 400 naming the field; more than 1,000 files too; anonymous callers get a 401', async () => {
      const owner = caller('check-bad');
      const good = key(textBytes());
      const cases: [unknown, string][] = [
        [[good, { ...good, checksumSha256: 'abc' }], 'files[1].checksumSha256'],
        [[{ ...good, size: 0 }], 'files[0].size'],
        [[{ ...good, size: '12' }], 'files[0].size'],
        [[{ checksumSha256: good.checksumSha256 }], 'files[0].size'],
        [[{ ...good, extra: 1 }], 'files[0].extra'],
        [[], 'files'],
        ['nope', 'files'],
        [Array.from({ length: 1001 }, () => good), 'files'],
      ];
      for (const [files, field] of cases) {
        const res = await check(owner, files);
        expect(res.status).toBe(400);
        expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      }
      expect((await check(owner, Array.from({ length: 1000 }, () => good))).status).toBe(200);
      expect((await api('POST', '/v1/uploads/check', { body: { files: [good] } })).status).toBe(401);
    });
  });
});
