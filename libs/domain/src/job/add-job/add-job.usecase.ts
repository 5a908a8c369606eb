import { LockMode } from '@mikro-orm/core';
import { Injectable } from '@nestjs/common';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { findAccessibleSession } from '../../upload/get-upload/get-upload.usecase';
import { UploadSession } from '../../upload/upload-session.entity';
import { assertJobsCanRun } from '../find-accessible-job';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { DEFAULT_JOB_PRIORITY, DEFAULT_MAX_ATTEMPTS, jobRequestProblems, MAX_JOBS_PER_SESSION } from '../plan/job-spec';
import { ProcessingJob } from '../processing-job.entity';
import { AddJobCommand } from './add-job.command';

/**
 * Adds a job to an uploaded file: the job and its message commit together. On a session still PROCESSING
 * the job joins its outcome; on a COMPLETED one it only records its own result (a settled session never
 * moves backwards), whether required or not.
 */
@Injectable()
export class AddJobUseCase {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly outbox: Outbox,
  ) {}

  execute(actor: Actor, sessionId: string, input: unknown): Promise<ProcessingJob> {
    const cmd = validateCommand(AddJobCommand, input);
    return this.uow.run(async (em) => {
      const found = await findAccessibleSession(em, actor, sessionId);
      const problems = jobRequestProblems(actor.isAdmin, cmd);
      if (problems.length > 0) throw DomainError.invalid(problems);
      const session = await em.findOneOrFail(UploadSession, found.id, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      assertJobsCanRun(session);
      // Counted under the session's lock: two concurrent adds cannot both take the last place.
      if ((await em.count(ProcessingJob, { sessionId: session.id })) >= MAX_JOBS_PER_SESSION) {
        throw new DomainError(DomainErrorCode.JOB_STATE_CONFLICT, `Upload ${session.id} has ${MAX_JOBS_PER_SESSION} jobs, the most one upload may have`);
      }
      const job = new ProcessingJob({
        sessionId: session.id,
        type: cmd.type,
        priority: cmd.priority ?? DEFAULT_JOB_PRIORITY,
        maxAttempts: cmd.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        required: cmd.required ?? false,
        config: cmd.config ?? {},
      });
      em.persist(job);
      await this.outbox.write(em, [this.outbox.runJob(job)]);
      return job;
    });
  }
}
