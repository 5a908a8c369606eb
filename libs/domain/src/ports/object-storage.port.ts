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
  /** Stores a small object (e.g. a thumbnail) in one request. */
  put(key: string, body: Buffer, opts: { contentType: string }): Promise<void>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  /** Reachability of the bucket (readiness). */
  ping(): Promise<void>;
}

export const OBJECT_STORAGE = Symbol('ObjectStorage');
