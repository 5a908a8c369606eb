import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { DomainEventType, JobStatus } from '@app/contracts';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { UploadSession } from '../../upload/upload-session.entity';
import { ProcessingJob } from '../../job/processing-job.entity';
import { SessionSettler } from '../../job/settle-session';

export interface ReconcileJobsSettings {
  batchSize: number;
  /** A PENDING job untouched for this long has lost its message (dead-lettered, purged): send it again. */
  stalePendingMs: number;
}

export interface ReconcileJobsFigures {
  requeued: number;
  failed: number;
  resent: number;
}

/**
 * Jobs whose processor died: RUNNING past their lease go back to PENDING and are queued again (through the
 * outbox), or fail when that dead attempt was their last. PENDING jobs that have waited far too long get
 * their message again. A replayed job message is harmless: the claim is a compare-and-set.
 */
@Injectable()
export class ReconcileJobsUseCase {
  private readonly logger = new Logger(ReconcileJobsUseCase.name);

  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly settlement: SessionSettler,
  ) {}

  async execute(settings: ReconcileJobsSettings): Promise<ReconcileJobsFigures> {
    const figures: ReconcileJobsFigures = { requeued: 0, failed: 0, resent: 0 };
    const now = new Date();
    const abandoned = await this.em.fork().find(
      ProcessingJob,
      { status: JobStatus.RUNNING, lockedUntil: { $lt: now } },
      { orderBy: { lockedUntil: 'asc' }, limit: settings.batchSize, fields: ['id'] },
    );
    for (const { id } of abandoned) {
      const outcome = await this.recoverAbandoned(id);
      if (outcome) figures[outcome]++;
    }
    const staleBefore = new Date(now.getTime() - settings.stalePendingMs);
    const stale = await this.em.fork().find(
      ProcessingJob,
      { status: JobStatus.PENDING, updatedAt: { $lt: staleBefore }, $or: [{ runAfter: null }, { runAfter: { $lt: staleBefore } }] },
      { orderBy: { updatedAt: 'asc' }, limit: settings.batchSize, fields: ['id'] },
    );
    for (const { id } of stale) {
      const resent = await this.uow.run(async (em) => {
        if (!(await this.lifecycle.touchPendingJob(em, id, staleBefore))) return false;
        this.outbox.runJob(em, await em.findOneOrFail(ProcessingJob, id));
        return true;
      });
      if (resent) figures.resent++;
    }
    return figures;
  }

  private recoverAbandoned(jobId: string): Promise<'requeued' | 'failed' | null> {
    return this.uow.run(async (em) => {
      const job = await em.findOne(ProcessingJob, jobId, { refresh: true });
      if (!job || job.status !== JobStatus.RUNNING || !job.lockedUntil || job.lockedUntil.getTime() >= Date.now()) return null;
      // The same lock order as the job's own settlement: session row first.
      const session = await em.findOneOrFail(UploadSession, job.sessionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (job.attempts >= job.maxAttempts) {
        const error = `lease expired on attempt ${job.attempts} of ${job.maxAttempts}: its processor stopped`;
        if (!(await this.lifecycle.failJob(em, job.id, error))) return null;
        const failed = await em.findOneOrFail(ProcessingJob, job.id, { refresh: true });
        this.outbox.jobEvent(em, DomainEventType.JobFailed, failed, session);
        await this.settlement.settle(em, session);
        this.logger.warn({ msg: 'abandoned job failed: no attempts left', jobId: job.id, sessionId: session.id, attempts: job.attempts });
        return 'failed';
      }
      if (!(await this.lifecycle.requeueAbandonedJob(em, job.id))) return null;
      this.outbox.runJob(em, job);
      this.logger.log({ msg: 'abandoned job re-queued', jobId: job.id, sessionId: session.id, attempts: job.attempts });
      return 'requeued';
    });
  }
}
