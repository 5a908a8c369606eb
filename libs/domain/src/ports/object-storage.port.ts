import type { Readable } from 'node:stream';

export interface StoredObject {
  size: number;
  etag: string | null;
  contentType: string | null;
}

export interface PresignedRequest {
  method: 'PUT' | 'GET';
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** A part the store holds for a multipart upload. */
export interface StoredPart {
  partNumber: number;
  /** Without quotes. */
  etag: string;
  size: number;
  lastModified: Date | null;
}

export interface MultipartUploadListing {
  key: string;
  uploadId: string;
  initiated: Date | null;
}

/** A browser form upload (S3 POST policy): POST `fields` then the file as multipart/form-data to `url`. */
export interface PresignedPost {
  url: string;
  fields: Record<string, string>;
  expiresAt: Date;
}

/** An object being read: what the store says of it, and its bytes (consume or destroy the body). */
export interface ObjectRead {
  /** The object's whole size (also when only its first bytes were asked for). */
  size: number;
  /** Without quotes. */
  etag: string | null;
  body: AsyncIterable<Buffer> & { destroy(error?: Error): void };
}

/**
 * The store answered 412: the object no longer has the ETag the read was pinned to (it was replaced after the
 * notification that announced it). Its own failure kind: what follows a replacement is the caller's policy.
 */
export class ObjectChangedError extends Error {
  constructor(
    readonly key: string,
    readonly expectedEtag: string,
  ) {
    super(`object ${key} changed: it no longer has ETag ${expectedEtag}`);
    this.name = 'ObjectChangedError';
  }
}

/** How a server-side copy ended: copied, no such source object, or a source that no longer has the pinned ETag. */
export type CopyOutcome = 'copied' | 'missing' | 'changed';

/** What the domain needs from S3-compatible storage. Implemented by libs/storage. */
export interface ObjectStorage {
  readonly bucket: string;
  /** A PUT URL that signs content type and length: the store refuses any other body. */
  presignPut(key: string, opts: { contentType: string; contentLength: number; expiresInSeconds: number }): Promise<PresignedRequest>;
  presignGet(key: string, opts: { expiresInSeconds: number; filename?: string }): Promise<PresignedRequest>;
  /** null when there is no such object. */
  head(key: string): Promise<StoredObject | null>;
  /** Bytes [start, end] inclusive (fewer if the object is shorter). */
  readRange(key: string, start: number, end: number): Promise<Buffer>;
  /** The whole object as a stream; the caller must consume or destroy it. */
  stream(key: string): Promise<Readable>;
  /**
   * One GET: the whole object, or only its first `firstBytes` (the size is the whole object's either way), pinned
   * to `ifMatch` when given (ObjectChangedError when the store holds other bytes now). null: no such object.
   */
  read(key: string, opts?: { firstBytes?: number; ifMatch?: string | null; signal?: AbortSignal }): Promise<ObjectRead | null>;
  /** Stores a small object (e.g. a thumbnail) in one request. */
  put(key: string, body: Buffer, opts: { contentType: string }): Promise<void>;
  /**
   * Copies an object inside the bucket, server-side (no byte passes through us): CopyObject, or above 5 GiB (the
   * most one CopyObject takes) a multipart upload of UploadPartCopy ranges. Pinned to `ifMatch` when given. The
   * target gets `contentType`; the store announces it with its own notification, like any upload.
   */
  copy(sourceKey: string, targetKey: string, opts: { size: number; contentType: string; ifMatch: string | null }): Promise<CopyOutcome>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Deletes every object under a prefix (few objects: one request each). */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * A POST-policy form for a browser upload whose size is not known in advance: the store enforces the key,
   * the content type and a size range.
   */
  presignPost(key: string, opts: { contentType: string; minBytes: number; maxBytes: number; expiresInSeconds: number }): Promise<PresignedPost>;
  /** The object's URL on the public endpoint (not signed). */
  publicUrl(key: string): string;

  // ---- Multipart uploads
  createMultipartUpload(key: string, opts: { contentType: string }): Promise<{ uploadId: string }>;
  /** An UploadPart URL; with `contentLength` the store refuses a part of any other size. */
  presignUploadPart(key: string, uploadId: string, partNumber: number, opts: { expiresInSeconds: number; contentLength?: number }): Promise<PresignedRequest>;
  /** Every part the store holds (all pages), by part number; null when the store knows no such upload. */
  listParts(key: string, uploadId: string): Promise<StoredPart[] | null>;
  /**
   * Completes from the given parts, then reads the object back (some stores, Ceph RGW among them, answer
   * with an empty or unquoted ETag). null when the store knows no such upload (aborted, or already completed).
   */
  completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<StoredObject | null>;
  /** Idempotent: aborting an unknown upload succeeds. Leaves no parts behind (aborts again while any remain). */
  abortMultipartUpload(key: string, uploadId: string): Promise<void>;
  /** Multipart uploads in progress under a key prefix (all pages). */
  listMultipartUploads(prefix: string): Promise<MultipartUploadListing[]>;

  /** Reachability of the bucket (readiness). */
  ping(): Promise<void>;
}

export const OBJECT_STORAGE = Symbol('ObjectStorage');
