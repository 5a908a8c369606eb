import { ListMultipartUploadsCommand, ListPartsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { objectExistsIn, storeClient } from './store';

export { storeClient };

const MiB = 1024 ** 2;

/**
 * Writes `bytes` of deterministic, incompressible data (AES-CTR keystream of a seed) to `path`, one MiB at
 * a time, and returns its SHA-256 (base64). Made at test time; never committed.
 */
export async function writeDeterministicFile(path: string, bytes: number, seed = 'multipart'): Promise<string> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const stream = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(MiB);
  const out = createWriteStream(path);
  const whole = createHash('sha256');
  for (let offset = 0; offset < bytes;) {
    const n = Math.min(MiB, bytes - offset);
    const buf = stream.update(zeros.subarray(0, n));
    whole.update(buf);
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
    offset += n;
  }
  out.end();
  await finished(out);
  return whole.digest('base64');
}

/** Bytes [start, start + length) of a file. */
export async function readSlice(path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** PUTs one part to its pre-signed URL, as a browser would; returns the store's status and ETag. */
export async function putPart(url: string, body: Buffer): Promise<{ status: number; etag: string | null }> {
  const res = await fetch(url, { method: 'PUT', body });
  await res.arrayBuffer();
  return { status: res.status, etag: res.headers.get('etag') };
}

/** Runs `tasks` with at most `limit` at a time. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** SHA-256 (base64) of a stored object, streamed back. */
export async function storedSha256(key: string): Promise<string> {
  const { s3, bucket } = storeClient();
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of r.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

export async function multipartUploadsUnder(prefix: string): Promise<string[]> {
  const { s3, bucket } = storeClient();
  const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (r.Uploads ?? []).map((u) => u.UploadId!);
}

/**
 * The store's answer to ListParts of an upload: 200 while it is open, 404 (NoSuchUpload, or NoSuchKey on Ceph RGW)
 * once it is aborted or completed. Any other error (a missing bucket, bad credentials, no store) throws: it says nothing of the upload.
 */
export async function listPartsStatus(key: string, uploadId: string): Promise<200 | 404> {
  const { s3, bucket } = storeClient();
  try {
    await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    return 200;
  } catch (e) {
    // AWS names it NoSuchUpload; Ceph RGW answers NoSuchKey. A missing bucket (NoSuchBucket) is not an answer about the upload.
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 && ['NoSuchUpload', 'NoSuchKey'].includes((e as Error).name))
      return 404;
    throw e;
  } finally {
    s3.destroy();
  }
}

/** Whether the object is stored (only the store's 404 for it means no; see objectExistsIn). */
export async function objectExists(key: string): Promise<boolean> {
  const { s3, bucket } = storeClient();
  try {
    return await objectExistsIn(s3, bucket, key);
  } finally {
    s3.destroy();
  }
}
