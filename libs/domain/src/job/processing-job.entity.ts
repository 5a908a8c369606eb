import { Check, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { JobStatus, JobType } from '@app/contracts';
import { UploadSession } from '../upload/upload-session.entity';

/** A task performed on an uploaded file. */
@Entity({ tableName: 'processing_job' })
@Index({ properties: ['sessionId'] })
@Index({ properties: ['status', 'lockedUntil'] })
@Check({ name: 'processing_job_priority_check', expression: 'priority between 1 and 10' })
@Check({ name: 'processing_job_max_attempts_check', expression: 'max_attempts >= 1' })
export class ProcessingJob {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => UploadSession, { mapToPk: true, fieldName: 'session_id', deleteRule: 'cascade' })
  sessionId: string;

  @Enum({ items: () => JobType })
  type: JobType;

  @Enum({ items: () => JobStatus })
  status: JobStatus = JobStatus.PENDING;

  /** 1 (most urgent) .. 10. */
  @Property({ type: 'smallint' })
  priority: number;

  /** A required job that fails fails the session; an optional one is only recorded. */
  @Property({ type: 'boolean' })
  required: boolean;

  @Property({ type: 'jsonb' })
  config: Record<string, unknown> = {};

  @Property({ type: 'jsonb', nullable: true })
  result: Record<string, unknown> | null = null;

  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** Attempts started so far, over every run (incremented when a processor claims the job; a manual retry keeps it). */
  @Property({ type: 'integer' })
  attempts: number = 0;

  /** Attempts the job may make in total: its budget, raised by that budget again at each manual retry. */
  @Property({ type: 'integer' })
  maxAttempts: number;

  /** The budget of each run, recorded at the first manual retry (null until then: `maxAttempts`). */
  @Property({ type: 'integer', nullable: true })
  attemptBudget: number | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  @Property({ type: 'timestamptz', nullable: true })
  startedAt: Date | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  /** Earliest time of the next attempt (set when a retry is scheduled). */
  @Property({ type: 'timestamptz', nullable: true })
  runAfter: Date | null = null;

  /** Lease of the processor running it; a RUNNING job past its lease belongs to a dead processor. */
  @Property({ type: 'timestamptz', nullable: true })
  lockedUntil: Date | null = null;

  /**
   * Fence of the running attempt: a fresh token per claim, named by every write of the RUNNING job (renew,
   * complete, fail, retry, release). A processor that lost its lease holds a stale token and writes nothing.
   */
  @Property({ type: 'uuid', nullable: true, hidden: true })
  leaseToken: string | null = null;

  constructor(props: { sessionId: string; type: JobType; priority: number; required: boolean; maxAttempts: number; config?: Record<string, unknown> }) {
    if (!Number.isInteger(props.priority) || props.priority < 1 || props.priority > 10) throw new Error('ProcessingJob.priority must be 1..10');
    if (!Number.isInteger(props.maxAttempts) || props.maxAttempts < 1) throw new Error('ProcessingJob.maxAttempts must be >= 1');
    this.sessionId = props.sessionId;
    this.type = props.type;
    this.priority = props.priority;
    this.required = props.required;
    this.maxAttempts = props.maxAttempts;
    this.config = props.config ?? {};
  }
}
