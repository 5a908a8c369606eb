import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { Actor, canAccess } from '../identity/actor';
import { UploadSession } from '../upload/upload-session.entity';
import { ProcessingJob } from './processing-job.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Sessions whose file exists and is sound enough to run jobs on. */
export const JOB_RUNNABLE_SESSION_STATUSES: readonly FileStatus[] = [FileStatus.UPLOADED, FileStatus.PROCESSING, FileStatus.COMPLETED];

/**
 * A job and its session (locked, so the job's outcome and the session's settle one at a time), if the actor
 * may see the session; JOB_NOT_FOUND otherwise, also for other people's jobs.
 */
export async function findAccessibleJob(em: EntityManager, actor: Actor, id: string): Promise<{ job: ProcessingJob; session: UploadSession }> {
  const job = UUID.test(id) ? await em.findOne(ProcessingJob, id) : null;
  const session = job ? await em.findOne(UploadSession, job.sessionId, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
  if (!job || !session || !canAccess(actor, session)) throw new DomainError(DomainErrorCode.JOB_NOT_FOUND, `Job ${id} not found`);
  return { job, session };
}

/** A job can only run on a file that is there and valid: not before upload, not on a FAILED or DELETED session. */
export function assertJobsCanRun(session: UploadSession): void {
  if (!JOB_RUNNABLE_SESSION_STATUSES.includes(session.status)) {
    throw new DomainError(
      DomainErrorCode.SESSION_STATE_CONFLICT,
      `Upload ${session.id} is ${session.status}: jobs run on UPLOADED, PROCESSING or COMPLETED uploads only`,
    );
  }
}
