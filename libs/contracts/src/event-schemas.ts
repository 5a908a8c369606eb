import { DomainEventType, GroupEventDataV1, JobEventDataV1, SessionEventDataV1, WebhookDisabledDataV1 } from './messages';
import { FileStatus, GroupStatus, JobStatus, JobType } from './statuses';

/** A JSON Schema (the subset AsyncAPI 3's Schema Object shares with JSON Schema draft 7). */
export type JsonSchema = { [keyword: string]: unknown };

/**
 * An object schema whose properties are exactly the interface's: a property missing here, or one the
 * interface does not have, fails to compile, so the schemas cannot drift from the TypeScript contracts.
 */
function objectSchema<T>(description: string, properties: { [K in keyof T]-?: JsonSchema }, required: readonly (keyof T & string)[]): JsonSchema {
  return { type: 'object', description, additionalProperties: false, required: [...required], properties };
}

const uuid = { type: 'string', format: 'uuid' } as const;
const nullable = (s: JsonSchema, description?: string): JsonSchema => ({ ...s, type: [s.type as string, 'null'], ...(description ? { description } : {}) });
const text = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });
const count = (description: string): JsonSchema => ({ type: 'integer', minimum: 0, description });

const sessionData = objectSchema<SessionEventDataV1>(
  'The upload session after the change.',
  {
    sessionId: { ...uuid, description: 'the upload session' },
    groupId: nullable(uuid, 'its upload group, if any'),
    userId: nullable(text(), "the owner (the JWT's `sub`); null for anonymous uploads"),
    objectKey: text('key of the object in the bucket'),
    bucket: text(),
    status: { type: 'string', enum: Object.values(FileStatus) },
    filename: text(),
    contentType: text(),
    size: nullable({ type: 'integer', minimum: 1 }, 'bytes; null only for a session that failed before a client that declares no size (Uppy) sent any'),
    error: nullable(text(), 'machine-readable reason of a FAILED session (SIZE_MISMATCH, VALIDATION_FAILED, ABORTED, EXPIRED, ...)'),
    errorMessage: nullable(text(), 'human-readable reason of a FAILED session'),
  },
  ['sessionId', 'groupId', 'userId', 'objectKey', 'bucket', 'status', 'filename', 'contentType', 'size'],
);

const groupData = objectSchema<GroupEventDataV1>(
  'The upload group after its final change, with its sessions.',
  {
    groupId: uuid,
    userId: nullable(text(), 'the owner; null for anonymous groups'),
    status: { type: 'string', enum: Object.values(GroupStatus) },
    totalFiles: count('files the group was declared with'),
    completedFiles: count('files COMPLETED'),
    failedFiles: count('files FAILED'),
    error: nullable(text(), 'why a FAILED group ended when its files are not the reason: EXPIRED (it was still waiting for files at its expiresAt)'),
    sessions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sessionId', 'objectKey', 'status'],
        properties: { sessionId: uuid, objectKey: text(), status: { type: 'string', enum: Object.values(FileStatus) } },
      },
    },
  },
  ['groupId', 'userId', 'status', 'totalFiles', 'completedFiles', 'failedFiles', 'sessions'],
);

const jobData = objectSchema<JobEventDataV1>(
  'A processing job that reached a final status, and its session.',
  {
    jobId: uuid,
    sessionId: uuid,
    groupId: nullable(uuid),
    userId: nullable(text()),
    objectKey: text(),
    type: { type: 'string', enum: Object.values(JobType) },
    status: { type: 'string', enum: Object.values(JobStatus) },
    attempts: count('attempts made'),
    result: nullable({ type: 'object' }, "the job's result (see the README's job table)"),
    error: nullable(text(), 'why the job failed'),
  },
  ['jobId', 'sessionId', 'groupId', 'userId', 'objectKey', 'type', 'status', 'attempts'],
);

const webhookDisabledData = objectSchema<WebhookDisabledDataV1>(
  'An outgoing webhook subscription the platform disabled. Re-enable it with PATCH /v1/webhooks/{id} `{ "enabled": true }`.',
  {
    subscriptionId: uuid,
    userId: text("the subscription's owner"),
    url: { type: 'string', format: 'uri' },
    reason: {
      type: 'string',
      enum: ['GONE', 'FAILING'],
      description: 'GONE: the receiver answered 410; FAILING: every delivery failed for WEBHOOK_DISABLE_AFTER_SECONDS',
    },
    failingSince: nullable({ type: 'string', format: 'date-time' }, 'first failure since the last success'),
    disabledAt: { type: 'string', format: 'date-time' },
  },
  ['subscriptionId', 'userId', 'url', 'reason', 'failingSince', 'disabledAt'],
);

/** The schema of each event's `data`, by name. */
export const EVENT_DATA_SCHEMAS = Object.freeze({
  SessionEventData: sessionData,
  GroupEventData: groupData,
  JobEventData: jobData,
  WebhookDisabledData: webhookDisabledData,
});
export type EventDataSchemaName = keyof typeof EVENT_DATA_SCHEMAS;

export interface DomainEventDescription {
  /** PascalCase message name in the AsyncAPI document. */
  name: string;
  summary: string;
  data: EventDataSchemaName;
}

/**
 * The event catalogue: every routing key of the domain events exchange, what it means and its data schema.
 * Keyed by DomainEventType, so a new event type does not compile until it is described here.
 */
export const DOMAIN_EVENT_CATALOGUE: Readonly<Record<DomainEventType, DomainEventDescription>> = Object.freeze({
  [DomainEventType.SessionUploaded]: {
    name: 'SessionUploaded',
    summary: 'The file is in the store (UPLOADED); its jobs are created.',
    data: 'SessionEventData',
  },
  [DomainEventType.SessionProcessing]: { name: 'SessionProcessing', summary: 'The first job of the session started (PROCESSING).', data: 'SessionEventData' },
  [DomainEventType.SessionCompleted]: {
    name: 'SessionCompleted',
    summary: 'Every job is final and every required one COMPLETED: the file is ready.',
    data: 'SessionEventData',
  },
  [DomainEventType.SessionFailed]: {
    name: 'SessionFailed',
    summary: 'The upload failed: aborted, expired, size mismatch, a required job failed, or its group was cancelled (`error` says which).',
    data: 'SessionEventData',
  },
  [DomainEventType.SessionDeleted]: {
    name: 'SessionDeleted',
    summary: 'The stored file was deleted (by its owner or in the store).',
    data: 'SessionEventData',
  },
  [DomainEventType.GroupCompleted]: { name: 'GroupCompleted', summary: 'Every file of the group is final and all COMPLETED.', data: 'GroupEventData' },
  [DomainEventType.GroupFailed]: { name: 'GroupFailed', summary: 'Every file of the group is final and at least one FAILED.', data: 'GroupEventData' },
  [DomainEventType.GroupCancelled]: {
    name: 'GroupCancelled',
    summary: 'The group was cancelled; its unfinished uploads were aborted.',
    data: 'GroupEventData',
  },
  [DomainEventType.JobCompleted]: { name: 'JobCompleted', summary: 'A processing job completed, with its result.', data: 'JobEventData' },
  [DomainEventType.JobFailed]: {
    name: 'JobFailed',
    summary: 'A processing job failed for good (no attempts left, or a permanent failure).',
    data: 'JobEventData',
  },
  [DomainEventType.WebhookDisabled]: {
    name: 'WebhookDisabled',
    summary: 'An outgoing webhook subscription was disabled: its receiver answered 410 Gone, or every delivery failed for too long.',
    data: 'WebhookDisabledData',
  },
});

/** The envelope of one event type (`type` fixed to it), its `data` referenced by `dataRef`. */
export function envelopeSchema(type: DomainEventType, dataRef: JsonSchema): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'occurredAt', 'version', 'data'],
    properties: {
      id: { ...uuid, description: "the event's id: AMQP message-id, and the webhook-id of its webhook deliveries" },
      type: { type: 'string', const: type, description: 'the routing key' },
      occurredAt: { type: 'string', format: 'date-time' },
      version: { type: 'integer', const: 1 },
      correlationId: { type: 'string', description: 'the upload (session or group) id the event belongs to' },
      data: dataRef,
    },
  };
}
