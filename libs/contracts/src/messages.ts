import { FileStatus, GroupStatus, JobStatus, JobType } from './statuses';

/**
 * Message contracts, typed once for producers and consumers.
 * WARNING: routed by name and consumed by other services; a breaking change needs a new version.
 */

/** Routing keys of domain events on the domain events exchange (`uploads.events`). */
export const DomainEventType = Object.freeze({
  SessionUploaded: 'session.uploaded',
  SessionProcessing: 'session.processing',
  SessionCompleted: 'session.completed',
  SessionFailed: 'session.failed',
  SessionDeleted: 'session.deleted',
  GroupCompleted: 'group.completed',
  GroupFailed: 'group.failed',
  GroupCancelled: 'group.cancelled',
  JobCompleted: 'job.completed',
  JobFailed: 'job.failed',
  /** An outgoing webhook subscription was disabled by the platform (its receiver answered 410, or failed for too long). */
  WebhookDisabled: 'webhook.disabled',
} as const);
export type DomainEventType = (typeof DomainEventType)[keyof typeof DomainEventType];

export interface SessionEventDataV1 {
  sessionId: string;
  groupId: string | null;
  userId: string | null;
  objectKey: string;
  bucket: string;
  status: FileStatus;
  filename: string;
  contentType: string;
  /** Bytes; null only for a session that failed before a client that declares no size (Uppy) sent any. */
  size: number | null;
  error?: string | null;
  errorMessage?: string | null;
}

export interface GroupEventDataV1 {
  groupId: string;
  userId: string | null;
  status: GroupStatus;
  totalFiles: number;
  completedFiles: number;
  failedFiles: number;
  /** Why a FAILED group ended when its files are not the reason (EXPIRED); null otherwise. */
  error?: string | null;
  sessions: { sessionId: string; objectKey: string; status: FileStatus }[];
}

export interface JobEventDataV1 {
  jobId: string;
  sessionId: string;
  groupId: string | null;
  userId: string | null;
  objectKey: string;
  type: JobType;
  status: JobStatus;
  attempts: number;
  result?: Record<string, unknown> | null;
  error?: string | null;
}

/** Why the platform disabled a subscription: its receiver answered 410 Gone, or every delivery failed for too long. */
export type WebhookDisabledReason = 'GONE' | 'FAILING';

export interface WebhookDisabledDataV1 {
  subscriptionId: string;
  /** The subscription's owner. */
  userId: string;
  url: string;
  reason: WebhookDisabledReason;
  /** When deliveries started failing without a success since (null for GONE after a success). */
  failingSince: string | null;
  disabledAt: string;
}

interface EnvelopeV1<T extends DomainEventType, D> {
  id: string;
  type: T;
  occurredAt: string;
  version: 1;
  correlationId?: string;
  data: D;
}

export type SessionEventType =
  | typeof DomainEventType.SessionUploaded
  | typeof DomainEventType.SessionProcessing
  | typeof DomainEventType.SessionCompleted
  | typeof DomainEventType.SessionFailed
  | typeof DomainEventType.SessionDeleted;
export type GroupEventType = typeof DomainEventType.GroupCompleted | typeof DomainEventType.GroupFailed | typeof DomainEventType.GroupCancelled;
export type JobEventType = typeof DomainEventType.JobCompleted | typeof DomainEventType.JobFailed;
export type WebhookEventType = typeof DomainEventType.WebhookDisabled;

export type SessionEventV1 = EnvelopeV1<SessionEventType, SessionEventDataV1>;
export type GroupEventV1 = EnvelopeV1<GroupEventType, GroupEventDataV1>;
export type JobEventV1 = EnvelopeV1<JobEventType, JobEventDataV1>;
export type WebhookEventV1 = EnvelopeV1<WebhookEventType, WebhookDisabledDataV1>;

/** Every domain event we publish. */
export type DomainEventV1 = SessionEventV1 | GroupEventV1 | JobEventV1 | WebhookEventV1;

/** Body of a message on a job queue: which job to run. Everything else is read from Postgres. */
export interface RunJobV1 {
  version: 1;
  jobId: string;
  sessionId: string;
  type: JobType;
  correlationId?: string;
}

/** Patterns consumers register with `@EventPattern` (one per kind of inbound message). */
export const MessagePattern = Object.freeze({
  StorageNotification: 'storage.notification',
  RunJob: 'job.run',
  /** Domain events taken from `uploads.events` by the webhook delivery (queue `webhooks.events`). */
  WebhookEvent: 'webhook.domain-event',
} as const);
export type MessagePattern = (typeof MessagePattern)[keyof typeof MessagePattern];
