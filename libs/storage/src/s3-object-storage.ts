import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { Readable } from 'node:stream';
import type { MultipartUploadListing, ObjectRead, ObjectStorage, PresignedPost, PresignedRequest, StoredObject, StoredPart } from '@app/domain';
import { S3ObjectReader } from './s3-object-reader';
import { S3Presigner } from './s3-presigner';

export interface S3Settings {
  endpoint: string;
  publicEndpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
  /**
   * Sign `If-None-Match: *` into pre-signed PUTs: the store then refuses a second PUT through the same URL (412)
   * once the object exists. AWS S3, MinIO and Ceph RGW 16.2 honour it (see docs/security.md). Default on.
   */
  conditionalPut?: boolean;
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

/**
 * A file name fit for Content-Disposition: without Unicode format characters (bidi overrides and isolates such as
 * U+202E, which make `invoice‮fdp.exe` show as `invoiceexe.pdf`; zero-width spaces and joiners; BOM), which
 * only ever disguise a name; `download` when nothing is left.
 */
export function downloadFilename(filename: string): string {
  return filename.replace(/\p{Cf}/gu, '').trim() || 'download';
}

function unquote(etag: string | undefined): string | null {
  return etag ? etag.replace(/^"|"$/g, '') : null;
}

function isNotFound(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 404 || e.name === 'NotFound' || e.name === 'NoSuchKey');
}

function isNoSuchUpload(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.name === 'NoSuchUpload' || e.$metadata.httpStatusCode === 404);
}

/** ObjectStorage on any S3 API (Ceph RGW, MinIO, AWS). Pre-signs with the public endpoint, talks over the internal one. */
export class S3ObjectStorage implements ObjectStorage {
  readonly bucket: string;
  private readonly client: S3Client;
  /** POST policies (Uppy's form uploads) go through the SDK; every other URL through `presigner`. */
  private readonly signer: S3Client;
  private readonly presigner: S3Presigner;

  private readonly publicBase: string;
  private readonly pathStyle: boolean;
  private readonly reader: S3ObjectReader;
  private readonly conditionalPut: boolean;

  constructor(settings: S3Settings) {
    this.conditionalPut = settings.conditionalPut ?? true;
    this.bucket = settings.bucket;
    this.publicBase = settings.publicEndpoint.replace(/\/+$/, '');
    this.pathStyle = settings.forcePathStyle;
    this.client = createS3Client(settings);
    this.reader = new S3ObjectReader(settings);
    this.signer = settings.publicEndpoint === settings.endpoint ? this.client : createS3Client(settings, settings.publicEndpoint);
    this.presigner = new S3Presigner(settings);
  }

  async presignPut(key: string, opts: { contentType: string; contentLength: number; expiresInSeconds: number }): Promise<PresignedRequest> {
    // Both headers signed: the store refuses any other body. `if-none-match: *` signed too: the URL writes the
    // object once, never over bytes already stored (and validated); the client must send it as given.
    const condition: Record<string, string> = this.conditionalPut ? { 'if-none-match': '*' } : {};
    const url = await this.presigner.presign('PutObject', key, {
      expiresInSeconds: opts.expiresInSeconds,
      headers: { 'content-type': opts.contentType, 'content-length': String(opts.contentLength), ...condition },
    });
    const headers: Record<string, string> = { 'Content-Type': opts.contentType, ...(this.conditionalPut ? { 'If-None-Match': '*' } : {}) };
    return { method: 'PUT', url, headers, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  async presignGet(key: string, opts: { expiresInSeconds: number; filename?: string }): Promise<PresignedRequest> {
    const name = opts.filename === undefined ? undefined : downloadFilename(opts.filename);
    const disposition = name ? `attachment; filename*=UTF-8''${encodeURIComponent(name)}` : undefined;
    const url = await this.presigner.presign('GetObject', key, {
      expiresInSeconds: opts.expiresInSeconds,
      query: disposition === undefined ? {} : { 'response-content-disposition': disposition },
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

  read(key: string, opts?: { firstBytes?: number; ifMatch?: string | null; signal?: AbortSignal }): Promise<ObjectRead | null> {
    return this.reader.read(key, opts);
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

  async presignPost(key: string, opts: { contentType: string; minBytes: number; maxBytes: number; expiresInSeconds: number }): Promise<PresignedPost> {
    const fields = { 'Content-Type': opts.contentType, success_action_status: '201' };
    const post = await createPresignedPost(this.signer, {
      Bucket: this.bucket,
      Key: key,
      Fields: fields,
      // Every form field but the file must be in the policy; the store enforces each condition.
      Conditions: [['content-length-range', opts.minBytes, opts.maxBytes], { 'Content-Type': opts.contentType }, { success_action_status: '201' }],
      Expires: opts.expiresInSeconds,
    });
    return { url: post.url, fields: post.fields, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  publicUrl(key: string): string {
    const path = key.split('/').map(encodeURIComponent).join('/');
    if (this.pathStyle) return `${this.publicBase}/${this.bucket}/${path}`;
    const u = new URL(this.publicBase);
    return `${u.protocol}//${this.bucket}.${u.host}/${path}`;
  }

  async createMultipartUpload(key: string, opts: { contentType: string }): Promise<{ uploadId: string }> {
    const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: opts.contentType }));
    if (!r.UploadId) throw new Error(`CreateMultipartUpload for ${key} returned no UploadId`);
    return { uploadId: r.UploadId };
  }

  async presignUploadPart(key: string, uploadId: string, partNumber: number, opts: { expiresInSeconds: number; contentLength?: number }): Promise<PresignedRequest> {
    const url = await this.presigner.presign('UploadPart', key, {
      expiresInSeconds: opts.expiresInSeconds,
      query: { partNumber: String(partNumber), uploadId },
      headers: opts.contentLength === undefined ? {} : { 'content-length': String(opts.contentLength) },
    });
    return { method: 'PUT', url, headers: {}, expiresAt: new Date(Date.now() + opts.expiresInSeconds * 1000) };
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[] | null> {
    const parts: StoredPart[] = [];
    let marker: string | undefined;
    // S3 lists at most 1,000 parts per page.
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      } catch (e) {
        if (isNoSuchUpload(e)) return null;
        throw e;
      }
      for (const p of page.Parts ?? []) {
        if (p.PartNumber === undefined) continue;
        parts.push({ partNumber: p.PartNumber, etag: unquote(p.ETag) ?? '', size: p.Size ?? 0, lastModified: p.LastModified ?? null });
      }
      const next = page.NextPartNumberMarker;
      if (!page.IsTruncated || next === undefined || next === marker) break;
      marker = next;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<StoredObject | null> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
        }),
      );
    } catch (e) {
      if (isNoSuchUpload(e)) return null;
      throw e;
    }
    // Ceph RGW may answer with an empty or unquoted ETag: the object itself tells the truth.
    return this.head(key);
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    // A part still being uploaded during the abort can survive it: abort until the store knows the upload no more.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      } catch (e) {
        if (!isNoSuchUpload(e)) throw e;
      }
      if ((await this.listParts(key, uploadId)) === null) return;
    }
  }

  async listMultipartUploads(prefix: string): Promise<MultipartUploadListing[]> {
    const out: MultipartUploadListing[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? null });
      }
      if (!page.IsTruncated || (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker)) break;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    return out;
  }

  async deletePrefix(prefix: string): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      // One DeleteObject per key: multi-object delete is fragile on stores with notifications (Ceph RGW).
      for (const o of page.Contents ?? []) if (o.Key) await this.delete(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }
}
