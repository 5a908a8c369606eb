/** The shapes the gateway's v1 JSON API answers with (see docs/product.md §4). Extra fields are kept. */

export type UploadStatus = 'PENDING_UPLOAD' | 'UPLOADING' | 'UPLOADED' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'DELETED';
export type JobStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';
export type GroupStatus = 'PENDING' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export const FINAL_UPLOAD_STATUSES: readonly UploadStatus[] = ['COMPLETED', 'FAILED', 'DELETED'];
export const FINAL_GROUP_STATUSES: readonly GroupStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

export interface Job {
  id?: string;
  type: string;
  status?: JobStatus;
  priority: number;
  result?: Record<string, unknown> | null;
  error?: string | null;
  attempts?: number;
  maxAttempts: number;
  [extra: string]: unknown;
}

export interface Session {
  id: string;
  groupId: string | null;
  status: UploadStatus;
  filename: string;
  contentType: string;
  size: number;
  uploadId: string | null;
  totalParts: number;
  completedParts: number;
  partSize?: number | null;
  error: string | null;
  errorMessage?: string | null;
  /** FAILED sessions: when the bytes that reached the store were deleted (FAILED_OBJECT_RETENTION_SECONDS after the failure). */
  objectDeletedAt?: string | null;
  [extra: string]: unknown;
}

/** GET /v1/uploads/:id: the session with its parts summary and its jobs. */
export interface SessionDetails extends Session {
  parts?: { total: number; uploaded: number; uploadedBytes: number };
  jobs: Job[];
}

export interface PartUrl {
  partNumber: number;
  url: string;
  /** The exact length the URL signs, when the gateway cut the parts. */
  size?: number;
  /** Headers the URL was signed with, if any. */
  headers?: Record<string, string>;
}

export type UploadInstructions =
  /** Nothing to send: the gateway had the store copy your stored upload `duplicateOf` (ifExists "reuse"). */
  | { strategy: 'NONE'; reason: 'DUPLICATE'; duplicateOf: string }
  | { strategy: 'SINGLE'; method: 'PUT'; url: string; headers: Record<string, string>; expiresAt: string }
  | { strategy: 'MULTIPART'; uploadId: string; partSize: number; totalParts: number; parts: PartUrl[]; expiresAt: string };

/** 201 of POST /v1/uploads. */
export interface CreatedUpload extends Session {
  upload: UploadInstructions;
  /** Anonymous callers only: must accompany later calls on this session (X-Upload-Token). */
  uploadToken?: string;
}

/** A part the store already holds (GET /v1/uploads/:id/parts). */
export interface StoredPart {
  partNumber: number;
  etag: string;
  size: number;
}

export interface JobRequest {
  type: string;
  priority?: number;
  maxAttempts?: number;
  config?: Record<string, unknown>;
}

/** Body of POST /v1/uploads (and of each entry of a group's `files`). */
export interface UploadRequest {
  filename: string;
  contentType: string;
  size: number;
  checksumSha256?: string;
  /** "reuse" (with checksumSha256): when you hold a COMPLETED upload of this content, it is copied server-side. Default "upload". */
  ifExists?: 'upload' | 'reuse';
  groupId?: string;
  multipart?: boolean;
  partSize?: number;
  jobs?: JobRequest[];
  metadata?: Record<string, string>;
}

/** One answer of POST /v1/uploads/check. */
export interface CheckedFile {
  checksumSha256: string;
  size: number;
  /** You hold a COMPLETED upload of this content. */
  exists: boolean;
  /** Its session id (the newest one), or null. */
  duplicateOf: string | null;
}

export interface Group {
  id: string;
  name: string;
  description?: string | null;
  status: GroupStatus;
  totalFiles: number;
  completedFiles: number;
  failedFiles?: number;
  /** The group takes no file after it; one still waiting for files then ends FAILED with error EXPIRED. */
  expiresAt?: string;
  /** Why a FAILED group ended when its files are not the reason (EXPIRED); null otherwise. */
  error?: string | null;
  [extra: string]: unknown;
}

/** 201 of POST /v1/groups with `files`: the group and one created upload per file, in order. */
export interface CreatedGroup extends Group {
  uploads: CreatedUpload[];
  uploadToken?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** What a live stream follows. */
export type LiveKind = 'session' | 'group';

/** 201 of POST /v1/uploads/:id/events/tickets (or a group's): opens that one stream until `expiresAt`. */
export interface StreamTicket {
  ticket: string;
  /** The stream's URL with the ticket (absolute, from Gateway.streamTicket): `new EventSource(url)`. */
  url: string;
  expiresAt: string;
}

/** A domain event as the gateway streams it: the envelope published on RabbitMQ (see /docs/asyncapi.json). */
export interface DomainEvent {
  id: string;
  /** The routing key: session.uploaded, job.completed, group.completed, … */
  type: string;
  occurredAt: string;
  version: number;
  data: {
    sessionId?: string;
    groupId?: string | null;
    jobId?: string;
    status?: string;
    [field: string]: unknown;
  };
}

/** One event of a live stream: first the `snapshot` (the same JSON as the GET), then one per domain event. */
export type LiveEvent<S = SessionDetails | Group> = { kind: 'snapshot'; snapshot: S } | { kind: 'event'; event: DomainEvent };
