import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadClient, UploadProgress } from '../../libs/client/src';
import { anUpload, sha256Base64, textBytes } from '../support/builders';
import { Caller, createUpload, getUpload, sendBytes, uploadToEnd, waitForStatus } from '../support/flows';
import { System } from '../support/apps';
import { api, jwtFor } from '../support/http';
import { waitFor } from '../support/poll';
import { sample, scrape } from '../support/metrics';
import { storeClient } from '../support/multipart';
import { StoreProxy } from '../support/store-proxy';
import { TestStore } from '../support/store';
import { CLI } from '../support/terminal';
import { GATEWAY_URL, PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(180_000);

const caller = (prefix: string, roles: string[] = []): Caller => ({ token: jwtFor(`${prefix}-${randomUUID()}`, { roles }) });
const check = (who: Caller, files: unknown) => api('POST', '/v1/uploads/check', { body: { files }, token: who.token });
const key = (bytes: Buffer) => ({ checksumSha256: sha256Base64(bytes), size: bytes.length });
const reuse = (bytes: Buffer, name = 'again.txt') => anUpload(bytes).named(name).withChecksum().with({ ifExists: 'reuse' });
const QUOTA = 1024 * 1024;

/** The stored bytes of a session, fetched through its pre-signed download URL. */
async function downloaded(id: string, who: Caller): Promise<Buffer> {
  const res = await api('GET', `/v1/uploads/${id}/download`, { token: who.token });
  expect(res.status).toBe(200);
  return Buffer.from(await (await fetch(res.body.url)).arrayBuffer());
}

/**
 * Instant uploads (issue 22): POST /v1/uploads/check answers which files the caller already holds, only
 * among the caller's own COMPLETED uploads; POST /v1/uploads with ifExists "reuse" completes such a file from the
 * stored copy, server-side. Pre-signed URLs point at a pass-through proxy that counts every client PUT.
 */
describe('instant uploads (e2e)', () => {
  let system: System;
  let proxy: StoreProxy;
  const store = new TestStore();

  beforeAll(async () => {
    proxy = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 10);
    system = await System.start({ JOB_TYPES: 'VALIDATION', S3_PUBLIC_ENDPOINT: proxy.url, USER_QUOTA_BYTES: String(QUOTA) });
  });
  afterAll(async () => {
    await system?.stop();
    await proxy?.close();
    store.close();
  });

  const putsOf = (id: string) => proxy.puts.filter((p) => p.sessionId === id);

  describe('POST /v1/uploads with ifExists "reuse"', () => {
    it('no byte is sent again: the store copies the object, the copy completes with identical bytes, and outlives the original', async () => {
      const owner = caller('reuse-owner');
      const bytes = textBytes(`instant ${randomUUID()}\n`.repeat(50));
      const first = await uploadToEnd(anUpload(bytes).named('first.txt').withChecksum(), owner);
      expect(first.status).toBe('COMPLETED');
      expect(putsOf(first.id)).toHaveLength(1);

      const again = await createUpload(reuse(bytes), owner);
      expect(again.body.upload).toEqual({ strategy: 'NONE', reason: 'DUPLICATE', duplicateOf: first.id });
      expect(again.body).toMatchObject({ filename: 'again.txt', size: bytes.length, checksumSha256: sha256Base64(bytes) });
      const second = await waitForStatus(again.id, owner, ['COMPLETED', 'FAILED']);
      expect(second.status).toBe('COMPLETED');
      // Its own notification drove it, and its own VALIDATION ran (on the copy's bytes).
      expect(second.jobs).toEqual([expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED' })]);
      expect(second.objectKey).not.toBe(first.objectKey);
      expect(putsOf(again.id)).toEqual([]);
      expect((await downloaded(again.id, owner)).equals(bytes)).toBe(true);

      // Deleting the original leaves the copy intact; the copy is now what check finds.
      expect((await api('DELETE', `/v1/uploads/${first.id}`, { token: owner.token })).status).toBe(200);
      await waitFor(
        () => store.exists(first.objectKey),
        (exists) => !exists,
        { what: 'the original object to be gone' },
      );
      expect((await getUpload(again.id, owner)).status).toBe('COMPLETED');
      expect((await downloaded(again.id, owner)).equals(bytes)).toBe(true);
      expect((await check(owner, [key(bytes)])).body.files[0]).toMatchObject({ exists: true, duplicateOf: again.id });
      expect(putsOf(again.id)).toEqual([]);
    });

    it("another user's identical content is neither found nor reused: that user sends the bytes", async () => {
      const owner = caller('reuse-holder');
      const other = caller('reuse-stranger');
      const bytes = textBytes();
      expect((await uploadToEnd(anUpload(bytes).withChecksum(), owner)).status).toBe('COMPLETED');

      expect((await check(other, [key(bytes)])).body.files[0]).toMatchObject({ exists: false, duplicateOf: null });
      const theirs = await createUpload(reuse(bytes), other);
      expect(theirs.body.upload.strategy).toBe('SINGLE');
      expect(await sendBytes(theirs, bytes)).toBe(200);
      expect((await waitForStatus(theirs.id, other, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
      expect(putsOf(theirs.id)).toHaveLength(1);
    });

    it('an original replaced in the store since (other ETag) is not copied: the new session asks for the bytes instead', async () => {
      const owner = caller('reuse-replaced');
      const bytes = textBytes();
      const first = await uploadToEnd(anUpload(bytes).withChecksum(), owner);
      // Same size, other bytes, written behind the platform's back.
      await store.put(first.objectKey, Buffer.from(bytes.toString('utf8').replace(/./, 'X')), 'text/plain');

      const again = await createUpload(reuse(bytes), owner);
      expect(again.body.upload.strategy).toBe('SINGLE');
      expect(await sendBytes(again, bytes)).toBe(200);
      expect((await waitForStatus(again.id, owner, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
      expect((await downloaded(again.id, owner)).equals(bytes)).toBe(true);

      // The same, asked as multipart (other content: `again` holds this one now, and would be copied from).
      const other = textBytes();
      const held = await uploadToEnd(anUpload(other).withChecksum(), owner);
      await store.put(held.objectKey, Buffer.from(other.toString('utf8').replace(/./, 'X')), 'text/plain');
      const parted = await createUpload(reuse(other).with({ multipart: true }), owner);
      expect(parted.body.upload).toMatchObject({ strategy: 'MULTIPART', totalParts: 1 });
      const details = await getUpload(parted.id, owner);
      expect(details).toMatchObject({ uploadId: parted.body.upload.uploadId, totalParts: 1, parts: { total: 1 } });
      // Its part plan was stored with it (no part rows): a fresh URL signs the part's exact length.
      const signed = await api('POST', `/v1/uploads/${parted.id}/parts`, { body: { partNumbers: [1] }, token: owner.token });
      expect([signed.status, signed.body.parts]).toEqual([200, [{ partNumber: 1, size: other.length, url: expect.any(String) }]]);
      const aborted = await api('POST', `/v1/uploads/${parted.id}/abort`, { body: {}, token: owner.token });
      expect([aborted.status, aborted.body]).toEqual([200, expect.objectContaining({ status: 'FAILED', error: 'ABORTED' })]);
    });

    it("a copy the store refused is not an upload: Ceph RGW's notification of a failed CopyObject leaves the session waiting", async () => {
      const owner = caller('reuse-phantom');
      const bytes = textBytes();
      const source = await uploadToEnd(anUpload(bytes).withChecksum(), owner);
      const waiting = await createUpload(anUpload(bytes), owner);
      const absentCopies = async () => sample(await scrape(PORT_BASE + 1), 'storage_events_outcomes_total', { outcome: 'absent-copy' });
      const before = await absentCopies();

      // A copy into the session's key that its condition refuses (RGW reads x-amz-copy-if-match): 412, no object.
      const { s3, bucket } = storeClient();
      const copy = new CopyObjectCommand({ Bucket: bucket, Key: waiting.body.objectKey, CopySource: `${bucket}/${source.objectKey}` });
      copy.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-amz-copy-if-match'] = '"0123456789abcdef0123456789abcdef"';
          return next(args);
        },
        { step: 'build' },
      );
      await expect(s3.send(copy)).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
      s3.destroy();
      expect(await store.exists(waiting.body.objectKey)).toBe(false);

      await waitFor(absentCopies, (n) => n > before, { what: 'the notification of the refused copy to be applied' });
      expect((await getUpload(waiting.id, owner)).status).toBe('PENDING_UPLOAD');
      expect(await sendBytes(waiting, bytes)).toBe(200);
      expect((await waitForStatus(waiting.id, owner, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    });

    it('quota is charged for a reused file as for any upload', async () => {
      const owner = caller('reuse-quota');
      const bytes = Buffer.alloc(600 * 1024, 'q');
      expect((await uploadToEnd(anUpload(bytes).ofType('application/octet-stream').withChecksum(), owner)).status).toBe('COMPLETED');
      const refused = await api('POST', '/v1/uploads', { body: reuse(bytes, 'q.bin').ofType('application/octet-stream').build(), token: owner.token });
      expect(refused.status).toBe(413);
      expect(refused.body.code).toBe('QUOTA_EXCEEDED');
    });

    it('a group takes reused files and counts them: created with the group or added later, it completes', async () => {
      const owner = caller('reuse-group');
      const a = textBytes();
      const b = textBytes();
      const held = await Promise.all([uploadToEnd(anUpload(a).withChecksum(), owner), uploadToEnd(anUpload(b).withChecksum(), owner)]);
      const created = await api('POST', '/v1/groups', { body: { name: 'again', totalFiles: 2, files: [reuse(a, 'a.txt').build()] }, token: owner.token });
      expect(created.status).toBe(201);
      expect(created.body.uploads[0].upload).toEqual({ strategy: 'NONE', reason: 'DUPLICATE', duplicateOf: held[0].id });
      const added = await api('POST', `/v1/groups/${created.body.id}/uploads`, { body: reuse(b, 'b.txt').build(), token: owner.token });
      expect(added.status).toBe(201);
      expect(added.body.upload).toEqual({ strategy: 'NONE', reason: 'DUPLICATE', duplicateOf: held[1].id });
      const group = await waitFor(
        async () => (await api('GET', `/v1/groups/${created.body.id}`, { token: owner.token })).body,
        (g) => g.status === 'COMPLETED' || g.status === 'FAILED',
        { what: 'the group to finish' },
      );
      expect(group).toMatchObject({ status: 'COMPLETED', totalFiles: 2, completedFiles: 2, failedFiles: 0 });
      expect([...putsOf(created.body.uploads[0].id), ...putsOf(added.body.id)]).toEqual([]);
    });

    it('ifExists is "upload" or "reuse", and "reuse" needs checksumSha256: 400s naming the field', async () => {
      const owner = caller('reuse-bad');
      const bytes = textBytes();
      const noChecksum = await api('POST', '/v1/uploads', { body: anUpload(bytes).with({ ifExists: 'reuse' }).build(), token: owner.token });
      expect(noChecksum.status).toBe(400);
      expect(noChecksum.body.details).toEqual([expect.objectContaining({ field: 'checksumSha256' })]);
      const unknown = await api('POST', '/v1/uploads', { body: anUpload(bytes).withChecksum().with({ ifExists: 'maybe' }).build(), token: owner.token });
      expect(unknown.status).toBe(400);
      expect(unknown.body.details).toEqual([expect.objectContaining({ field: 'ifExists' })]);
      const inGroup = await api('POST', '/v1/groups', {
        body: { name: 'bad', files: [anUpload(bytes).with({ ifExists: 'reuse' }).build()] },
        token: owner.token,
      });
      expect(inGroup.status).toBe(400);
      expect(inGroup.body.details).toEqual([expect.objectContaining({ field: 'files[0].checksumSha256' })]);
      // "upload" (the default) sends the bytes even when they are held.
      expect((await uploadToEnd(anUpload(bytes).withChecksum(), owner)).status).toBe('COMPLETED');
      expect((await createUpload(anUpload(bytes).withChecksum().with({ ifExists: 'upload' }), owner)).body.upload.strategy).toBe('SINGLE');
    });
  });

  describe('SDK skipExisting and CLI --skip-existing', () => {
    it('the SDK hashes the file (a hashing phase in its progress), finds it held and sends nothing the second time', async () => {
      const token = jwtFor(`sdk-skip-${randomUUID()}`);
      const client = new UploadClient({ server: GATEWAY_URL, token });
      const bytes = Buffer.from(`sdk ${randomUUID()}\n`.repeat(2000));
      const path = join(mkdtempSync(join(tmpdir(), 'skip-sdk-')), 'report.txt');
      writeFileSync(path, bytes);

      const first = await client.uploadFile(path, { skipExisting: true });
      expect(first).toMatchObject({ reused: false, strategy: 'SINGLE', bytesSent: bytes.length });
      expect((await client.waitForSession(first.sessionId)).status).toBe('COMPLETED');

      const seen: UploadProgress[] = [];
      const second = await client.uploadFile(path, { skipExisting: true, onProgress: (p) => seen.push(p) });
      expect(second).toMatchObject({ reused: true, duplicateOf: first.sessionId, strategy: 'NONE', bytesSent: 0 });
      expect(seen[0]).toMatchObject({ phase: 'hashing', bytesHashed: 0 });
      expect(seen.some((p) => p.phase === 'hashing' && p.bytesHashed === bytes.length)).toBe(true);
      expect(seen[seen.length - 1]).toMatchObject({ phase: 'uploading', percent: 100 });
      expect((await client.waitForSession(second.sessionId)).status).toBe('COMPLETED');
      expect(putsOf(second.sessionId)).toEqual([]);
      expect((await downloaded(second.sessionId, { token })).equals(bytes)).toBe(true);
    });

    it('put --skip-existing on a folder of 50 files, 40 of them uploaded before: 10 uploaded, 40 reused, exit 0 (JSON output)', async () => {
      const token = jwtFor(`cli-skip-${randomUUID()}`);
      const dir = mkdtempSync(join(tmpdir(), 'skip-cli-'));
      const names = Array.from({ length: 50 }, (_, i) => `file-${String(i).padStart(2, '0')}.txt`);
      names.forEach((n) => writeFileSync(join(dir, n), `${n} ${randomUUID()}\n`));
      const env = { ...process.env, UPLOAD_SERVER: GATEWAY_URL, UPLOAD_TOKEN: token, UPLOAD_STATE_DIR: join(dir, '.state') };
      const put = (files: string[]) =>
        new Promise<{ code: number; out: any }>((resolve, reject) =>
          execFile(
            process.execPath,
            [CLI, 'put', ...files, '--skip-existing', '--json'],
            { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 },
            (error, stdout, stderr) => {
              try {
                resolve({ code: error ? Number(error.code ?? 1) : 0, out: JSON.parse(stdout) });
              } catch (e) {
                reject(new Error(`CLI output is not JSON (${String(e)}): ${stdout}\n${stderr}`));
              }
            },
          ),
        );

      const before = await put(names.slice(0, 40));
      expect(before.code).toBe(0);
      expect(before.out.totals).toEqual({ files: 40, uploaded: 40, reused: 0, failed: 0 });

      const run = await put(names);
      expect(run.code).toBe(0);
      expect(run.out.ok).toBe(true);
      expect(run.out.totals).toEqual({ files: 50, uploaded: 10, reused: 40, failed: 0 });
      const byName = new Map<string, any>(run.out.files.map((f: any) => [f.file, f]));
      const firstIds = new Map<string, string>(before.out.files.map((f: any) => [f.file, f.sessionId]));
      for (const n of names.slice(0, 40)) {
        expect(byName.get(n)).toMatchObject({ action: 'reused', duplicateOf: firstIds.get(n), status: 'COMPLETED' });
        expect(putsOf(byName.get(n).sessionId)).toEqual([]);
      }
      for (const n of names.slice(40)) {
        expect(byName.get(n)).toMatchObject({ action: 'uploaded', duplicateOf: null, status: 'COMPLETED' });
        expect(putsOf(byName.get(n).sessionId)).toHaveLength(1);
      }
    });
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
      expect(
        (
          await check(
            owner,
            Array.from({ length: 1000 }, () => good),
          )
        ).status,
      ).toBe(200);
      expect((await api('POST', '/v1/uploads/check', { body: { files: [good] } })).status).toBe(401);
    });
  });
});
