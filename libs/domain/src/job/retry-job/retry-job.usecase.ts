import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { assertJobsCanRun, findAccessibleJob } from '../find-accessible-job';
import { MAX_MANUAL_RETRIES } from '../plan/job-spec';
import { ProcessingJob } from '../processing-job.entity';

/**
 * A FAILED or CANCELLED job runs again, with a fresh attempt budget on top of its history: PENDING and re-queued
 * in one transaction; `attempts` keeps counting and `maxAttempts` grows by the job's budget (LifecycleWriter.requeueJob).
 * Refused on a FAILED or DELETED session (409): a failed session stays failed, the lifecycle
 * has no way back. On a COMPLETED session the job runs and records its outcome without moving the session.
 * A caller who is not admin retries one job at most MAX_MANUAL_RETRIES times (each retry is a fresh budget).
 */
@Injectable()
export class RetryJobUseCase {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
  ) {}

  execute(actor: Actor, jobId: string): Promise<ProcessingJob> {
    return this.uow.run(async (em) => {
      const { job, session } = await findAccessibleJob(em, actor, jobId);
      assertJobsCanRun(session);
      const requeued = await this.lifecycle.requeueJob(em, job.id, actor.isAdmin ? null : MAX_MANUAL_RETRIES);
      if (requeued === 'retries-exhausted') {
        throw new DomainError(DomainErrorCode.JOB_STATE_CONFLICT, `Job ${job.id} was retried ${MAX_MANUAL_RETRIES} times, the most a caller may`);
      }
      if (!requeued) {
        throw new DomainError(DomainErrorCode.JOB_STATE_CONFLICT, `Job ${job.id} is ${job.status}: only FAILED or CANCELLED jobs can be retried`);
      }
      await this.outbox.write(em, [this.outbox.runJob(requeued)]);
      return em.findOneOrFail(ProcessingJob, job.id, { refresh: true });
    });
  }
}
