import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor } from '../../identity/actor';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { findAccessibleJob } from '../find-accessible-job';
import { ProcessingJob } from '../processing-job.entity';
import { SessionSettler } from '../session-settler';

/**
 * PENDING or RUNNING → CANCELLED. A running processor notices at its next lease renewal and stops; its
 * message is then dropped. The session settles as for any final job: a cancelled required job fails a
 * PROCESSING session, a cancelled optional one may complete it; a settled session does not move.
 */
@Injectable()
export class CancelJobUseCase {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly settler: SessionSettler,
  ) {}

  execute(actor: Actor, jobId: string): Promise<ProcessingJob> {
    return this.uow.run(async (em) => {
      const { job, session } = await findAccessibleJob(em, actor, jobId);
      if (!(await this.lifecycle.cancelJob(em, job.id, 'cancelled by request'))) {
        throw new DomainError(DomainErrorCode.JOB_STATE_CONFLICT, `Job ${job.id} is ${job.status}: only PENDING or RUNNING jobs can be cancelled`);
      }
      // The session row is locked (findAccessibleJob): the lock order of every path, session before its jobs.
      await this.settler.settle(em, [session]);
      return em.findOneOrFail(ProcessingJob, job.id, { refresh: true });
    });
  }
}
