import { EntityData, raw } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { FileStatus, GroupStatus, JobStatus, PartStatus } from '@app/contracts';
import { UploadGroup } from '../group/upload-group.entity';
import { ProcessingJob } from '../job/processing-job.entity';
import { FilePart } from '../upload/file-part.entity';
import { UploadSession } from '../upload/upload-session.entity';
import {
  canTransition,
  FILE_STATUS_TRANSITIONS,
  GROUP_STATUS_TRANSITIONS,
  JOB_STATUS_TRANSITIONS,
  PART_STATUS_TRANSITIONS,
  sourcesOf,
  TransitionTable,
} from './transitions';

function preconditions<S extends string>(table: TransitionTable<S>, to: S, from?: readonly S[]): S[] {
  const allowed = sourcesOf(table, to);
  if (!from) return allowed;
  const illegal = from.filter((f) => !canTransition(table, f, to));
  if (illegal.length > 0) throw new Error(`Illegal transition ${illegal.join('|')} → ${to}`);
  return [...from];
}

/**
 * The one writer of statuses. Every verb checks its lifecycle table and persists as a compare-and-set
 * (`UPDATE … WHERE id = ? AND status IN (allowed sources)`). It returns false when the row was not in an
 * allowed status: the caller lost a race or the change already happened, and must re-read, never overwrite.
 */
@Injectable()
export class LifecycleWriter {
  // ---- UploadSession (FileStatus)

  markUploading(em: EntityManager, id: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.UPLOADING, {}, [FileStatus.PENDING_UPLOAD]);
  }

  /** `size` records the stored size of a session whose client declared none. */
  markUploaded(em: EntityManager, id: string, facts: { etag: string | null; size?: number }): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.UPLOADED, { etag: facts.etag, uploadedAt: new Date(), ...(facts.size !== undefined ? { size: facts.size } : {}) });
  }

  markProcessing(em: EntityManager, id: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.PROCESSING);
  }

  markCompleted(em: EntityManager, id: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.COMPLETED);
  }

  markFailed(em: EntityManager, id: string, error: string, errorMessage: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.FAILED, { error, errorMessage });
  }

  /** The client gave up before the file arrived: PENDING_UPLOAD | UPLOADING → FAILED with error ABORTED. */
  markAborted(em: EntityManager, id: string, errorMessage: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.FAILED, { error: 'ABORTED', errorMessage }, [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING]);
  }

  markDeleted(em: EntityManager, id: string): Promise<boolean> {
    return this.moveSession(em, id, FileStatus.DELETED);
  }

  private async moveSession(em: EntityManager, id: string, to: FileStatus, patch: EntityData<UploadSession> = {}, from?: FileStatus[]): Promise<boolean> {
    const sources = preconditions<FileStatus>(FILE_STATUS_TRANSITIONS, to, from);
    const n = await em.nativeUpdate(
      UploadSession,
      { id, status: { $in: sources } },
      { ...patch, status: to, updatedAt: new Date(), version: raw('version + 1') },
    );
    return n === 1;
  }

  // ---- FilePart (PartStatus)

  /** PENDING → UPLOADING for parts whose URL a client asked for; returns how many moved. */
  async markPartsUploading(em: EntityManager, sessionId: string, partNumbers: number[]): Promise<number> {
    if (partNumbers.length === 0) return 0;
    return em.nativeUpdate(FilePart, { sessionId, partNumber: { $in: partNumbers }, status: PartStatus.PENDING }, { status: this.partTarget(PartStatus.PENDING, PartStatus.UPLOADING) });
  }

  /** PENDING | UPLOADING → UPLOADED with what the store holds. */
  async markPartUploaded(em: EntityManager, sessionId: string, partNumber: number, facts: { etag: string; size: number; uploadedAt: Date | null }): Promise<boolean> {
    const sources = preconditions<PartStatus>(PART_STATUS_TRANSITIONS, PartStatus.UPLOADED);
    const n = await em.nativeUpdate(
      FilePart,
      { sessionId, partNumber, status: { $in: sources } },
      { status: PartStatus.UPLOADED, etag: facts.etag, size: facts.size, uploadedAt: facts.uploadedAt ?? new Date() },
    );
    return n === 1;
  }

  /** PENDING | UPLOADING → FAILED for every unfinished part of a session (abort); returns how many moved. */
  failUnfinishedParts(em: EntityManager, sessionId: string): Promise<number> {
    const sources = preconditions<PartStatus>(PART_STATUS_TRANSITIONS, PartStatus.FAILED);
    return em.nativeUpdate(FilePart, { sessionId, status: { $in: sources } }, { status: PartStatus.FAILED });
  }

  private partTarget(from: PartStatus, to: PartStatus): PartStatus {
    preconditions<PartStatus>(PART_STATUS_TRANSITIONS, to, [from]);
    return to;
  }

  // ---- ProcessingJob (JobStatus)

  /** PENDING → RUNNING for this processor, counting the attempt and taking a lease. */
  claimJob(em: EntityManager, id: string, leaseMs: number): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.PENDING }, JobStatus.RUNNING, {
      attempts: raw('attempts + 1'),
      startedAt: new Date(),
      lockedUntil: new Date(Date.now() + leaseMs),
      runAfter: null,
    });
  }

  /** RUNNING → RUNNING for a job whose processor died (lease expired): a new attempt. */
  takeOverJob(em: EntityManager, id: string, leaseMs: number): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING, lockedUntil: { $lt: new Date() } }, JobStatus.RUNNING, {
      attempts: raw('attempts + 1'),
      startedAt: new Date(),
      lockedUntil: new Date(Date.now() + leaseMs),
    });
  }

  /** Extends the lease of a job this processor is running; false if it is no longer RUNNING (e.g. cancelled). */
  async renewJobLease(em: EntityManager, id: string, leaseMs: number): Promise<boolean> {
    const n = await em.nativeUpdate(ProcessingJob, { id, status: JobStatus.RUNNING }, { lockedUntil: new Date(Date.now() + leaseMs) });
    return n === 1;
  }

  completeJob(em: EntityManager, id: string, result: Record<string, unknown>): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING }, JobStatus.COMPLETED, { result, error: null, finishedAt: new Date(), lockedUntil: null });
  }

  failJob(em: EntityManager, id: string, error: string, result: Record<string, unknown> | null = null): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING }, JobStatus.FAILED, { error, result, finishedAt: new Date(), lockedUntil: null });
  }

  /** RUNNING → PENDING: a retry, to run again at `runAfter`. */
  retryJob(em: EntityManager, id: string, error: string, runAfter: Date): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING }, JobStatus.PENDING, { error, runAfter, lockedUntil: null });
  }

  /** FAILED | CANCELLED → PENDING by hand: a fresh attempt budget, the last outcome cleared. */
  async requeueJob(em: EntityManager, id: string): Promise<boolean> {
    const patch = { attempts: 0, error: null, result: null, startedAt: null, finishedAt: null, runAfter: null, lockedUntil: null };
    for (const from of [JobStatus.FAILED, JobStatus.CANCELLED]) {
      if (await this.moveJob(em, { id, status: from }, JobStatus.PENDING, patch)) return true;
    }
    return false
  }

  /**
   * RUNNING → PENDING for a job whose processor died (lease expired): the reconciler re-queues it. The
   * dead attempt stays counted, so a job that keeps killing its processor still runs out of attempts.
   */
  requeueAbandonedJob(em: EntityManager, id: string): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING, lockedUntil: { $lt: new Date() } }, JobStatus.PENDING, {
      error: 'lease expired: its processor stopped',
      runAfter: null,
      lockedUntil: null,
    });
  }

  /**
   * RUNNING → PENDING for a job this processor gives back unfinished (graceful shutdown): the attempt did
   * not run to an outcome, so it is not counted, and another processor may take the job at once.
   */
  releaseJob(em: EntityManager, id: string): Promise<boolean> {
    return this.moveJob(em, { id, status: JobStatus.RUNNING }, JobStatus.PENDING, {
      attempts: raw('greatest(attempts - 1, 0)'),
      runAfter: null,
      lockedUntil: null,
    });
  }

  /**
   * Marks a PENDING job whose message is being sent again (the reconciler's re-queue of a job whose
   * message was lost), so that the next pass leaves it alone for a while. Not a status change.
   */
  async touchPendingJob(em: EntityManager, id: string, notTouchedSince: Date): Promise<boolean> {
    const n = await em.nativeUpdate(ProcessingJob, { id, status: JobStatus.PENDING, updatedAt: { $lt: notTouchedSince } }, { updatedAt: new Date() });
    return n === 1;
  }

  /** PENDING | RUNNING → CANCELLED; a running processor notices when renewing its lease. */
  async cancelJob(em: EntityManager, id: string, error: string): Promise<boolean> {
    for (const from of [JobStatus.PENDING, JobStatus.RUNNING]) {
      if (await this.moveJob(em, { id, status: from }, JobStatus.CANCELLED, { error, finishedAt: new Date(), lockedUntil: null })) return true;
    }
    return false;
  }

  private async moveJob(em: EntityManager, where: Record<string, unknown> & { status: JobStatus }, to: JobStatus, patch: EntityData<ProcessingJob>): Promise<boolean> {
    preconditions<JobStatus>(JOB_STATUS_TRANSITIONS, to, [where.status]);
    const n = await em.nativeUpdate(ProcessingJob, where, { ...patch, status: to, updatedAt: new Date() });
    return n === 1;
  }

  // ---- UploadGroup (GroupStatus)

  async moveGroup(em: EntityManager, id: string, to: GroupStatus, from?: GroupStatus[]): Promise<boolean> {
    const sources = preconditions<GroupStatus>(GROUP_STATUS_TRANSITIONS, to, from);
    const n = await em.nativeUpdate(UploadGroup, { id, status: { $in: sources } }, { status: to, updatedAt: new Date() });
    return n === 1;
  }
}
