import { BigIntType, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { FileStatus } from '@app/contracts';
import { UploadGroup } from '../group/upload-group.entity';
import { JobSpec } from '../job/plan/job-spec';
import { User } from '../user/user.entity';

/** The lifecycle of one file, from the pre-signed URL to its processed state. One session, one object. */
@Entity({ tableName: 'upload_session' })
@Index({ properties: ['userId', 'createdAt', 'id'] })
@Index({ properties: ['groupId'] })
@Index({ properties: ['status', 'expiresAt'] })
@Index({ properties: ['uploadId'] })
export class UploadSession {
  @PrimaryKey({ type: 'uuid' })
  id: string;

  @ManyToOne(() => UploadGroup, { mapToPk: true, nullable: true, fieldName: 'group_id', deleteRule: 'set null' })
  groupId: string | null = null;

  @ManyToOne(() => User, { mapToPk: true, nullable: true, fieldName: 'user_id', deleteRule: 'set null' })
  userId: string | null = null;

  @Property({ type: 'text' })
  bucket: string;

  /** Made by the server from the session id and a sanitized file name; never taken from the client. */
  @Property({ type: 'text', unique: true })
  objectKey: string;

  /** The store's multipart upload id; null for single-PUT uploads. */
  @Property({ type: 'text', nullable: true })
  uploadId: string | null = null;

  @Enum({ items: () => FileStatus })
  status: FileStatus = FileStatus.PENDING_UPLOAD;

  @Property({ type: 'text' })
  filename: string;

  @Property({ type: 'text' })
  contentType: string;

  /**
   * Declared size in bytes. null only while a client that declares none (Uppy's S3 routes) is uploading:
   * the stored size is then taken, within the policy's limits, when the object arrives.
   */
  @Property({ type: new BigIntType('number'), nullable: true })
  size: number | null;

  /** Declared by the client (base64); verified by the VALIDATION job. */
  @Property({ type: 'text', nullable: true })
  checksumSha256: string | null = null;

  /** SHA-256 of the stored object (hex), computed by the CHECKSUM job. */
  @Property({ type: 'text', nullable: true })
  sha256: string | null = null;

  /** MD5 of the stored object (hex), computed by the CHECKSUM job. */
  @Property({ type: 'text', nullable: true })
  md5: string | null = null;

  @Property({ type: 'text', nullable: true })
  etag: string | null = null;

  /** Machine-readable reason of a FAILED session (SIZE_MISMATCH, VALIDATION_FAILED, ABORTED, EXPIRED, ...). */
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Property({ type: 'text', nullable: true })
  errorMessage: string | null = null;

  @Property({ type: 'jsonb' })
  metadata: Record<string, string> = {};

  /** The jobs to create once the file is uploaded (decided at creation by planJobs). */
  @Property({ type: 'jsonb' })
  jobPlan: JobSpec[] = [];

  /** Bytes this session holds in its owner's `reservedBytes`; set at creation, 0 once released (FAILED/DELETED). */
  @Property({ type: new BigIntType('number'), default: 0 })
  quotaBytes: number = 0;

  @Property({ type: 'integer' })
  totalParts: number = 0;

  /**
   * The size of every part but the last, where the part plan is ours (partLength gives each part's exact length);
   * 0 for a single PUT and while the client chooses its parts (Uppy). Parts need no row to be known: a `file_part`
   * row appears only once the store reports the part.
   */
  @Property({ type: new BigIntType('number'), default: 0 })
  partSize: number = 0;

  @Property({ type: 'integer' })
  completedParts: number = 0;

  /**
   * Whether the group's counters already include this session's final status. Set in the statement that
   * moves the counter (GroupProgress), so a session is counted at most once whatever replays happen.
   */
  @Property({ type: 'boolean' })
  countedInGroup: boolean = false;

  /** SHA-256 of the anonymous caller's upload token; null for owned sessions (sessions of an anonymous group share the group's). */
  @Property({ type: 'text', nullable: true, hidden: true })
  uploadTokenHash: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  uploadedAt: Date | null = null;

  /**
   * FAILED sessions only: when what the session left in the store (object, thumbnails, multipart upload) was
   * deleted by the reconciler, FAILED_OBJECT_RETENTION_SECONDS after it failed. null: not yet (or never stored).
   */
  @Property({ type: 'timestamptz', nullable: true })
  objectDeletedAt: Date | null = null;

  /** After this instant an upload that has not arrived is abandoned (EXPIRED). */
  @Property({ type: 'timestamptz' })
  expiresAt: Date;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Property({ version: true, type: 'integer' })
  version: number = 1;

  constructor(props: {
    id: string;
    bucket: string;
    objectKey: string;
    filename: string;
    contentType: string;
    size: number | null;
    expiresAt: Date;
    userId?: string | null;
    groupId?: string | null;
    checksumSha256?: string | null;
    metadata?: Record<string, string>;
    jobPlan: JobSpec[];
  }) {
    if (props.size !== null && (!Number.isSafeInteger(props.size) || props.size < 1)) throw new Error('UploadSession.size must be a positive integer');
    if (!props.objectKey.includes(props.id)) throw new Error('UploadSession.objectKey must contain the session id');
    this.id = props.id;
    this.bucket = props.bucket;
    this.objectKey = props.objectKey;
    this.filename = props.filename;
    this.contentType = props.contentType;
    this.size = props.size;
    this.expiresAt = props.expiresAt;
    this.userId = props.userId ?? null;
    this.groupId = props.groupId ?? null;
    this.checksumSha256 = props.checksumSha256 ?? null;
    this.metadata = props.metadata ?? {};
    this.jobPlan = props.jobPlan;
  }
}
