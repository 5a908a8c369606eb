import { randomBytes, randomUUID } from 'node:crypto';
import { S3ObjectStorage } from '@app/storage';
import { TestStore } from '../support/store';
import { testS3Settings } from '../support/test-env';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/**
 * ObjectStorage.copy against the real store (Ceph RGW): CopyObject, and the multipart path of UploadPartCopy
 * ranges (taken above 5 GiB; here its limits are lowered so a 12 MiB object takes it, in 5 MiB ranges).
 * Both give byte-identical objects with the new content type, refuse a source that lost its pinned ETag and
 * tell a missing source apart.
 */
describe('server-side copy (integration, S3 store)', () => {
  const store = new TestStore();
  const single = new S3ObjectStorage(testS3Settings());
  const inParts = new S3ObjectStorage(testS3Settings(), { maxSingleCopyBytes: 5 * MiB, copyPartBytes: 5 * MiB });
  const prefix = `tests/copy/${randomUUID()}`;
  const keys: string[] = [];
  const key = (name: string) => {
    const k = `${prefix}/${name}`;
    keys.push(k);
    return k;
  };

  afterAll(async () => {
    for (const k of keys) await store.delete(k);
    store.close();
  });

  it.each([
    ['CopyObject', single, 64 * 1024],
    ['UploadPartCopy ranges', inParts, 12 * MiB + 123],
  ])('%s: the copy holds the same bytes with its own content type; the source may go, the copy stays', async (_how, storage, size) => {
    const bytes = randomBytes(size);
    const source = key(`src-${size} ü (1).bin`);
    await store.put(source, bytes, 'application/octet-stream');
    const head = await storage.head(source);
    const target = key(`dst-${size}.bin`);

    expect(await storage.copy(source, target, { size, contentType: 'image/png', ifMatch: head!.etag })).toBe('copied');
    await store.delete(source);
    const copied = await store.get(target);
    expect(copied!.body.equals(bytes)).toBe(true);
    expect(copied!.contentType).toBe('image/png');
    expect(await storage.listMultipartUploads(prefix)).toEqual([]);
  });

  it.each([
    ['CopyObject', single, 1000],
    ['UploadPartCopy ranges', inParts, 11 * MiB],
  ])('%s: a source replaced since (other ETag) is "changed", a missing one "missing"; nothing is written either way', async (_how, storage, size) => {
    const source = key(`replaced-${size}.bin`);
    await store.put(source, randomBytes(size));
    const pinned = (await storage.head(source))!.etag;
    await store.put(source, randomBytes(size));
    const target = key(`never-${size}.bin`);

    expect(await storage.copy(source, target, { size, contentType: 'text/plain', ifMatch: pinned })).toBe('changed');
    expect(await storage.copy(key(`absent-${size}.bin`), target, { size, contentType: 'text/plain', ifMatch: null })).toBe('missing');
    expect(await store.exists(target)).toBe(false);
    expect(await storage.listMultipartUploads(prefix)).toEqual([]);
  });
});
