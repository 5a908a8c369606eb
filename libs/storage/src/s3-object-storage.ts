import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import type { ObjectStorage, PresignedRequest, StoredObject } from '@app/domain';

export interface S3Settings {
  endpoint: string;
  publicEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
}

export function createS3Client(s: S3Settings, endpoint = s.endpoint): S3Client {
  return new S3Client({
    endpoint,
    region: s.region,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    forcePathStyle: s.forcePathStyle,
    // Otherwise pre-signed URLs carry a checksum of an empty body and streaming uploads use aws-chunked framing.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

function unquote(etag: string | undefined): string | null {
  return etag ? etag.replace(/^"|"$/g, '') : null;
}

function isNotFound(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey');
}

/** ObjectStorage on any S3 API (Ceph RGW, MinIO, AWS). Pre-signs with the public endpoint, talks over the internal one. */
export class S3ObjectStorage implements ObjectStorage {
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly signer: S3Client;

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket;
    this.client = createS3Client(settings);
    this.signer = settings.publicEndpoint === settings.endpoint ? this.client : createS3Client(settings, settings.publicEndpoint);
  }

  async presignPut(key: string, opts: { contentType: string; contentLength: number; expiresInSeconds: number }): Promise<PresignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType, ContentLength: opts.contentLength });
    // content-length is signed by default; content-type only when asked. The store then refuses any other body.
    const url = await getSignedUrl(this.signer, command, { expiresIn: opts.expiresInSeconds, signableHeaders: new Set(['content-type']) });
    return { method: 'PUT', url, headers: { 'Content-Type': opts.contentType }, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  async presignGet(key: string, opts: { expiresInSeconds: number; filename?: string }): Promise<PresignedRequest> {
    const disposition = opts.filename ? `attachment; filename*=UTF-8''${encodeURIComponent(opts.filename)}` : undefined;
    const url = await getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key, ResponseContentDisposition: disposition }), {
      expiresIn: opts.expiresInSeconds,
    });
    return { method: 'GET', url, headers: {}, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? 0, etag: unquote(r.ETag), contentType: r.ContentType ?? null };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async readRange(key: string, start: number, end: number): Promise<Buffer> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end}` }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      // An empty object has no satisfiable range.
      if (e instanceof S3ServiceException && e.$metadata.httpStatusCode === 416) return Buffer.alloc(0);
      throw e;
    }
  }

  async stream(key: string): Promise<Readable> {
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return r.Body as Readable;
  }

  async put(key: string, body: Buffer, opts: { contentType: string }): Promise<void> {
    // A Buffer with its length: a plain PutObject, no aws-chunked framing (which RGW refuses).
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: opts.contentType, ContentLength: body.length }));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
