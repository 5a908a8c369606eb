import { FileStatus, JobStatus, JobType, SessionEventType } from '@app/contracts';
import type { JobSettlement } from '../lifecycle/lifecycle-writer';
import type { JobRecord, SessionRecord } from '../lifecycle/records';
import type { OutboxRow } from '../outbox/outbox';
import type { Tx } from './sql.port';

/** A job as the settle rules read it (decideSessionOutcome). */
export interface SettleJobRow {
  session_id: string;
  type: string;
  status: JobStatus;
  required: boolean;
  error: string | null;
}

/**
 * The statements of the job path inside one transaction, by intent. Every status write is a compare-and-set
 * through the transition tables; statements that touch jobs take their sessions' rows first (the lock order:
 * sessions by id, then their jobs, then groups).
 */
export interface JobStoreTx {
  /**
   * PENDING → RUNNING (attempt counted, fresh lease and lease token) for the due jobs named, and their sessions'
   * other due jobs of `siblingTypes`, of sessions in a `runnable` status; those sessions UPLOADED → PROCESSING.
   * Returns the jobs claimed, every session locked (as now), and the ids of the sessions that started.
   */
  claim(claim: { ids: string[]; siblingTypes?: JobType[]; leaseMs: number; runnable: readonly FileStatus[] }): Promise<{
    jobs: JobRecord[];
    sessions: Map<string, SessionRecord>;
    started: Set<string>;
  }>;
  /** The jobs named, as they are (no lock: their sessions are locked by the transaction's first statement). */
  findJobs(ids: string[]): Promise<JobRecord[]>;
  /** Locks the sessions of the jobs named, by id; returns them. */
  lockSessionsOfJobs(jobIds: string[]): Promise<Map<string, SessionRecord>>;
  /** PENDING → CANCELLED, each with its reason. */
  cancelPending(cancels: { id: string; error: string }[]): Promise<JobRecord[]>;
  /** RUNNING past its lease with attempts left → a new attempt under a new lease token. */
  takeOver(ids: string[], leaseMs: number): Promise<JobRecord[]>;
  /** RUNNING past its lease on its last attempt → FAILED. */
  failAbandoned(ids: string[]): Promise<JobRecord[]>;
  /** RUNNING past its lease with attempts left → PENDING (the dead attempt stays counted). */
  requeueAbandoned(ids: string[]): Promise<JobRecord[]>;
  /** Extends the leases still held under these tokens; returns their ids. */
  renewLeases(held: { id: string; leaseToken: string }[], leaseMs: number): Promise<Set<string>>;
  /**
   * The end of attempts, fenced by their lease tokens (one missing from `jobs` lost its lease), with what a
   * completed job adds to its session; returns the jobs written and their sessions as locked.
   */
  settle(
    settlements: JobSettlement[],
    facts: { jobId: string; sha256?: string; md5?: string }[],
  ): Promise<{ jobs: JobRecord[]; sessions: Map<string, SessionRecord> }>;
  /** PENDING jobs of a type due and untouched for `staleMs`: marked as sent again, skipping locked rows. */
  markStalePendingSent(type: JobType, staleMs: number, limit: number): Promise<JobRecord[]>;
  /** Every job of these sessions, for the settle rules. */
  jobsOfSessions(sessionIds: string[]): Promise<SettleJobRow[]>;
  /** Sessions to `to` by compare-and-set from `from`; returns those moved. */
  moveSessions(ids: string[], to: FileStatus, from: FileStatus[]): Promise<SessionRecord[]>;
  /** Sessions to FAILED by compare-and-set from `from`, each with its error; returns those moved. */
  failSessions(failures: { id: string; error: string; errorMessage: string }[], from: FileStatus[]): Promise<SessionRecord[]>;
  /** What follows sessions that ended: their events into `out`, their groups' counters (and group events into `out`). */
  sessionsEnded(sessions: SessionRecord[], event: SessionEventType, out: OutboxRow[]): Promise<void>;
  /** The messages of this transaction, committed with it. */
  writeOutbox(rows: OutboxRow[]): Promise<void>;
}

/**
 * Where the job path (JobLedger, SessionSettler) keeps its jobs: the domain's port, implemented on Postgres by
 * SqlJobStore (libs/domain/src/job/run-jobs/sql-job-store.ts) and in memory by the unit tests' fake.
 */
export interface JobStore {
  /** Runs `work` in one transaction (retried whole on a deadlock or serialization failure); resolves once committed. */
  transaction<T>(work: (tx: JobStoreTx) => Promise<T>): Promise<T>;
  /** The statements of a transaction opened elsewhere (a use case's unit of work). */
  of(tx: Tx): JobStoreTx;
}

export const JOB_STORE = Symbol('JobStore');
