/**
 * The enums of the seed data model. Shared by the domain (entities, lifecycles) and by every message
 * contract, so they live in this dependency-free library.
 * WARNING: persisted in Postgres (check constraints) and sent in messages: renaming a value needs a migration.
 */
export enum FileStatus {
  PENDING_UPLOAD = 'PENDING_UPLOAD',
  UPLOADING = 'UPLOADING',
  UPLOADED = 'UPLOADED',
  PROCESSING = 'PROCESSING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  DELETED = 'DELETED',
}

export enum JobStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

export enum GroupStatus {
  PENDING = 'PENDING',
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

export enum PartStatus {
  PENDING = 'PENDING',
  UPLOADING = 'UPLOADING',
  UPLOADED = 'UPLOADED',
  FAILED = 'FAILED',
}

export enum JobType {
  VALIDATION = 'VALIDATION',
  CHECKSUM = 'CHECKSUM',
  METADATA = 'METADATA',
  THUMBNAIL = 'THUMBNAIL',
}

export const JOB_TYPES: readonly JobType[] = Object.values(JobType);
