import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { ObjectChangedError, type ObjectRead } from '@app/domain';

function unquote(etag: string | undefined): string | null {
  return etag ? etag.replace(/^"|"$/g, '') : null;
}

const status = (e: unknown) => (e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined);

/** `bytes 0-4099/123456` → 123456. */
function totalOf(contentRange: string | undefined): number | null {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * One GET of an object (the read side of the ObjectStorage port): the whole object, or its first bytes with the
 * whole size from Content-Range, pinned by If-Match to an ETag when given.
 */
export async function readObject(client: S3Client, bucket: string, key: string, opts: { firstBytes?: number; ifMatch?: string | null; signal?: AbortSignal } = {}): Promise<ObjectRead | null> {
  const range = opts.firstBytes !== undefined ? `bytes=0-${Math.max(0, opts.firstBytes - 1)}` : undefined;
  const ifMatch = opts.ifMatch ? `"${opts.ifMatch.replace(/^"|"$/g, '')}"` : undefined;
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range, IfMatch: ifMatch }), { abortSignal: opts.signal });
    const body = r.Body as Readable;
    return { size: totalOf(r.ContentRange) ?? r.ContentLength ?? 0, etag: unquote(r.ETag), body };
  } catch (e) {
    const code = status(e);
    if (code === 404) return null;
    if (code === 412) throw new ObjectChangedError(key, opts.ifMatch!);
    // An empty object has no satisfiable range: nothing to read.
    if (code === 416) return { size: 0, etag: null, body: Readable.from([]) };
    throw e;
  }
}
