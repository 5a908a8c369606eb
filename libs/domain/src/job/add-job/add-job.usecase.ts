import { LockMode } from '@mikro-orm/core';
import { Injectable } from '@nestjs/common';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { findAccessibleSession } from '../../upload/get-upload/get-upload.usecase';
import { UploadSession } from '../../upload/upload-session.entity';
import { assertJobsCanRun } from '../find-accessible-job';
import { DEFAULT_JOB_PRIORITY, DEFAULT_MAX_ATTEMPTS } from '../plan/job-spec';
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
      const session = await em.findOneOrFail(UploadSession, found.id, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      assertJobsCanRun(session);
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
