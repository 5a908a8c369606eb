import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
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
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { Readable } from 'node:stream';
import type { CopyOutcome, MultipartUploadListing, ObjectRead, ObjectStorage, PresignedPost, PresignedRequest, StoredObject, StoredPart } from '@app/domain';
import { S3ObjectReader } from './s3-object-reader';
import { DEFAULT_S3_CONNECT_TIMEOUT_MS, DEFAULT_S3_REQUEST_TIMEOUT_MS } from './s3-timeouts';
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
   * Longest wait for the store's answer to one request (until its headers; a body then streams at its own pace),
   * each of the SDK's 3 attempts; default 30 s. A hung store fails the call instead of freezing its caller (the
   * reconciler, a consumer). CompleteMultipartUpload gets ten times as long: the store assembles the parts first.
   */
  requestTimeoutMs?: number;
  /** Longest wait for a connection to the store; default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Sign `If-None-Match: *` into pre-signed PUTs: the store then refuses a second PUT through the same URL (412)
   * once the object exists. AWS S3, MinIO and Ceph RGW 16.2 honour it (see docs/security.md). Default on.
   */
  conditionalPut?: boolean;
}

/** Ceph RGW answers CompleteMultipartUpload only once the object is assembled (no early 200 with whitespace). */
const COMPLETE_TIMEOUT_FACTOR = 10;

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
    // The SDK waits forever by default. Cleared once the answer's headers arrive, so long downloads are not cut.
    requestHandler: {
      requestTimeout: s.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS,
      connectionTimeout: s.connectTimeoutMs ?? DEFAULT_S3_CONNECT_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
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

function isPreconditionFailed(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.$metadata.httpStatusCode === 412 || e.name === 'PreconditionFailed');
}

/** The most one CopyObject copies (S3's limit); larger objects are copied in UploadPartCopy ranges. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** Range of one UploadPartCopy: 1 GiB, more when 10,000 of them would not cover the object. */
const COPY_PART_BYTES = 1024 ** 3;
const MAX_PARTS = 10_000;
/** UploadPartCopy requests in flight for one copy. */
const COPY_CONCURRENCY = 4;

/** Where a copy's parts lie in the store (tests lower them to exercise UploadPartCopy on small objects). */
export interface CopyLimits {
  maxSingleCopyBytes: number;
  copyPartBytes: number;
}

/**
 * Ceph RGW (before ceph/ceph#44678) reads the copy's source condition from `x-amz-copy-if-match`, not the standard
 * `x-amz-copy-source-if-match`: send both (other stores ignore the unknown header). Signed like the others.
 */
function withRgwCopyIfMatch(command: CopyObjectCommand, ifMatch: string | undefined): CopyObjectCommand {
  if (ifMatch === undefined) return command;
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-copy-if-match'] = ifMatch;
      return next(args);
    },
    { step: 'build', name: 'rgwCopyIfMatch' },
  );
  return command;
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
  private readonly completeTimeoutMs: number;
  private readonly conditionalPut: boolean;

  constructor(
    settings: S3Settings,
    private readonly copyLimits: CopyLimits = { maxSingleCopyBytes: MAX_SINGLE_COPY_BYTES, copyPartBytes: COPY_PART_BYTES },
  ) {
    this.conditionalPut = settings.conditionalPut ?? true;
    this.bucket = settings.bucket;
    this.completeTimeoutMs = (settings.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS) * COMPLETE_TIMEOUT_FACTOR;
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

  async presignUploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { expiresInSeconds: number; contentLength?: number },
  ): Promise<PresignedRequest> {
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
        { requestTimeout: this.completeTimeoutMs },
      );
    } catch (e) {
      if (isNoSuchUpload(e)) return null;
      throw e;
    }
    // Ceph RGW may answer with an empty or unquoted ETag: the object itself tells the truth.
    return this.head(key);
  }

  async copy(sourceKey: string, targetKey: string, opts: { size: number; contentType: string; ifMatch: string | null }): Promise<CopyOutcome> {
    // x-amz-copy-source is "bucket/key", URL-encoded (each segment: the slashes stay).
    const source = `${this.bucket}/${sourceKey.split('/').map(encodeURIComponent).join('/')}`;
    const ifMatch = opts.ifMatch ? `"${opts.ifMatch}"` : undefined;
    try {
      if (opts.size <= this.copyLimits.maxSingleCopyBytes) {
        // Asked first: Ceph RGW announces a copy its condition refused (an ObjectCreated:Copy for no object).
        const head = await this.head(sourceKey);
        if (head === null) return 'missing';
        if (opts.ifMatch !== null && head.etag !== opts.ifMatch) return 'changed';
        await this.client.send(
          withRgwCopyIfMatch(
            new CopyObjectCommand({
              Bucket: this.bucket,
              Key: targetKey,
              CopySource: source,
              CopySourceIfMatch: ifMatch,
              MetadataDirective: 'REPLACE',
              ContentType: opts.contentType,
            }),
            ifMatch,
          ),
        );
      } else {
        return await this.copyInParts(sourceKey, source, targetKey, opts, ifMatch);
      }
      return 'copied';
    } catch (e) {
      if (isPreconditionFailed(e)) return 'changed';
      if (isNotFound(e)) return 'missing';
      throw e;
    }
  }

  /**
   * UploadPartCopy in ranges, then CompleteMultipartUpload. Ceph RGW ignores the source condition of UploadPartCopy
   * (under either header name): the source's ETag is also compared before the first range and after the last, and a
   * copy whose source changed in between is aborted. (The copy's VALIDATION job then checks its bytes anyway.)
   */
  private async copyInParts(
    sourceKey: string,
    source: string,
    key: string,
    opts: { size: number; contentType: string; ifMatch: string | null },
    ifMatch: string | undefined,
  ): Promise<CopyOutcome> {
    const unchanged = async (): Promise<CopyOutcome> => {
      const head = await this.head(sourceKey);
      return head === null ? 'missing' : opts.ifMatch !== null && head.etag !== opts.ifMatch ? 'changed' : 'copied';
    };
    const before = await unchanged();
    if (before !== 'copied') return before;
    const partBytes = Math.max(this.copyLimits.copyPartBytes, Math.ceil(opts.size / MAX_PARTS));
    const total = Math.ceil(opts.size / partBytes);
    const { uploadId } = await this.createMultipartUpload(key, { contentType: opts.contentType });
    try {
      const etags: string[] = new Array(total);
      let next = 0;
      const worker = async () => {
        for (let n = next++; n < total; n = next++) {
          const start = n * partBytes;
          const end = Math.min(opts.size, start + partBytes) - 1;
          const out = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: n + 1,
              CopySource: source,
              CopySourceRange: `bytes=${start}-${end}`,
              CopySourceIfMatch: ifMatch,
            }),
          );
          etags[n] = unquote(out.CopyPartResult?.ETag) ?? '';
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, total) }, worker));
      const after = await unchanged();
      if (after !== 'copied') {
        await this.abortMultipartUpload(key, uploadId);
        return after;
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((etag, i) => ({ PartNumber: i + 1, ETag: `"${etag}"` })) },
        }),
      );
      return 'copied';
    } catch (e) {
      await this.abortMultipartUpload(key, uploadId).catch(() => undefined);
      throw e;
    }
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
      const page = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      );
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
