import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { DomainEventType, FileStatus, JobStatus, RunJobV1 } from '@app/contracts';
import { LifecycleWriter } from '../../lifecycle/lifecycle-writer';
import { FINAL_JOB_STATUSES } from '../../lifecycle/transitions';
import { Outbox } from '../../outbox/outbox';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { UploadSession } from '../../upload/upload-session.entity';
import { JobFailure, SessionFacts } from '../handlers/job-handler';
import { JobHandlerRegistry } from '../handlers/job-handler-registry';
import { retryDelayMs } from '../plan/outcomes';
import { SessionSettler } from '../settle-session';
import { ProcessingJob } from '../processing-job.entity';

export interface JobRunSettings {
  leaseMs: number;
  /** How often a running job renews its lease, and so how soon it notices a cancellation. */
  leaseRenewalMs: number;
  /** After SIGTERM, how long running jobs may go on before they are stopped and released to others. */
  releaseAfterMs: number;
}
export const JOB_RUN_SETTINGS = Symbol('JobRunSettings');

export type JobRunOutcome = 'completed' | 'failed' | 'retry-scheduled' | 'released' | 'cancelled' | 'duplicate' | 'running-elsewhere' | 'gone';

type Claim = { kind: 'claimed'; job: ProcessingJob; session: UploadSession } | { kind: Exclude<JobRunOutcome, 'completed' | 'failed' | 'retry-scheduled' | 'released'> };

/** Slack after a foreign lease ends before its job is looked at again. */
const LEASE_RECHECK_SLACK_MS = 500;

type Attempt = { ok: true; result: Record<string, unknown> } | { ok: false; failure: JobFailure };

/** The abort reason of a job stopped because its process shuts down: released, not failed. */
class ShuttingDown extends Error {}

/**
 * Runs one job message: claim the job (PENDING → RUNNING with a lease), run its handler outside any
 * transaction, then record the outcome and settle the session in one transaction. Every delivery may
 * repeat: a job that is final or running under a live lease is left alone.
 */
@Injectable()
export class RunJobUseCase implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RunJobUseCase.name);
  private readonly running = new Set<AbortController>();

  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly lifecycle: LifecycleWriter,
    private readonly outbox: Outbox,
    private readonly settler: SessionSettler,
    private readonly handlers: JobHandlerRegistry,
    @Inject(JOB_RUN_SETTINGS) private readonly settings: JobRunSettings,
  ) {}

  async execute(message: RunJobV1): Promise<JobRunOutcome> {
    const claim = await this.claim(message.jobId);
    if (claim.kind !== 'claimed') return claim.kind;
    const { job, session } = claim;
    const handler = this.handlers.get(job.type);
    if (!handler) throw new Error(`No handler for job type ${job.type}`);

    const abort = new AbortController();
    this.running.add(abort);
    const renewal = setInterval(() => {
      this.em
        .fork()
        .transactional((em) => this.lifecycle.renewJobLease(em, job.id, this.settings.leaseMs))
        .then((held) => held || abort.abort(new Error('job cancelled or lease lost')))
        .catch((e: unknown) => this.logger.warn({ msg: 'lease renewal failed', jobId: job.id, err: String(e) }));
    }, this.settings.leaseRenewalMs);

    let attempt: Attempt;
    const started = Date.now();
    try {
      attempt = { ok: true, result: await handler.run({ job, session, signal: abort.signal }) };
    } catch (e) {
      attempt = { ok: false, failure: e instanceof JobFailure ? e : new JobFailure(e instanceof Error ? e.message : String(e), false) };
    } finally {
      clearInterval(renewal);
      this.running.delete(abort);
    }
    const outcome = abort.signal.reason instanceof ShuttingDown ? await this.release(job) : await this.finish(job, attempt, handler.sessionFacts?.bind(handler));
    this.logger.log({ msg: 'job finished', jobId: job.id, type: job.type, sessionId: session.id, outcome, attempt: job.attempts, ms: Date.now() - started });
    return outcome;
  }

  /**
   * SIGTERM: jobs still running after `releaseAfterMs` are stopped and given back (PENDING, attempt not
   * counted, message re-queued through the outbox) so that another processor takes them at once instead
   * of waiting for the lease to expire. The consumer stops taking messages meanwhile (AmqpServer.close).
   */
  beforeApplicationShutdown(): void {
    setTimeout(() => {
      for (const abort of this.running) abort.abort(new ShuttingDown('process shutting down'));
    }, this.settings.releaseAfterMs).unref();
  }

  private release(job: ProcessingJob): Promise<JobRunOutcome> {
    return this.uow.run(async (em): Promise<JobRunOutcome> => {
      if (!(await this.lifecycle.releaseJob(em, job.id))) return 'cancelled';
      this.outbox.runJob(em, job);
      return 'released';
    });
  }

  private claim(jobId: string): Promise<Claim> {
    return this.uow.run(async (em): Promise<Claim> => {
      const job = await em.findOne(ProcessingJob, jobId);
      if (!job) return { kind: 'gone' };
      if (FINAL_JOB_STATUSES.includes(job.status)) return { kind: 'duplicate' };
      const claimed =
        job.status === JobStatus.RUNNING
          ? job.lockedUntil !== null && job.lockedUntil.getTime() < Date.now() && (await this.lifecycle.takeOverJob(em, job.id, this.settings.leaseMs))
          : await this.lifecycle.claimJob(em, job.id, this.settings.leaseMs);
      if (!claimed && job.status === JobStatus.RUNNING) {
        // Its processor may be dead (this may be the redelivery of its unacked message): look again once
        // the lease has run out, through a delay stage, instead of dropping the only message of the job.
        const leaseLeft = Math.max(0, (job.lockedUntil?.getTime() ?? Date.now()) - Date.now());
        this.outbox.runJob(em, job, leaseLeft + LEASE_RECHECK_SLACK_MS);
        return { kind: 'running-elsewhere' };
      }
      if (!claimed) return { kind: 'duplicate' };

      const session = await em.findOneOrFail(UploadSession, job.sessionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (session.status === FileStatus.FAILED || session.status === FileStatus.DELETED) {
        await this.lifecycle.cancelJob(em, job.id, `session is ${session.status}`);
        return { kind: 'cancelled' };
      }
      if (await this.lifecycle.markProcessing(em, session.id)) {
        await em.refresh(session);
        this.outbox.sessionEvent(em, DomainEventType.SessionProcessing, session);
      }
      return { kind: 'claimed', job: await em.findOneOrFail(ProcessingJob, job.id, { refresh: true }), session };
    });
  }

  private finish(job: ProcessingJob, attempt: Attempt, factsOf?: (result: Record<string, unknown>) => SessionFacts): Promise<JobRunOutcome> {
    return this.uow.run(async (em): Promise<JobRunOutcome> => {
      // One settler per session at a time: concurrent jobs of a session see each other's outcome.
      const session = await em.findOneOrFail(UploadSession, job.sessionId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      let outcome: JobRunOutcome;
      if (attempt.ok) {
        if (!(await this.lifecycle.completeJob(em, job.id, attempt.result))) return 'cancelled';
        const facts = factsOf?.(attempt.result);
        if (facts && Object.keys(facts).length > 0) await em.nativeUpdate(UploadSession, { id: session.id }, facts);
        outcome = 'completed';
      } else if (attempt.failure.permanent || job.attempts >= job.maxAttempts) {
        if (!(await this.lifecycle.failJob(em, job.id, attempt.failure.message, attempt.failure.result))) return 'cancelled';
        // Retries exhausted: an operator's matter, so a copy goes to the dead-letter queue. A permanent failure is
        // the file's own (not an image, a type mismatch): recorded on the job and its event, not dead-lettered.
        if (!attempt.failure.permanent) this.outbox.deadJob(em, job, `gave up after ${job.attempts} of ${job.maxAttempts} attempts: ${attempt.failure.message}`);
        outcome = 'failed';
      } else {
        const delay = retryDelayMs(job.attempts);
        if (!(await this.lifecycle.retryJob(em, job.id, attempt.failure.message, new Date(Date.now() + delay)))) return 'cancelled';
        this.outbox.runJob(em, job, delay);
        return 'retry-scheduled';
      }
      const done = await em.findOneOrFail(ProcessingJob, job.id, { refresh: true });
      this.outbox.jobEvent(em, outcome === 'completed' ? DomainEventType.JobCompleted : DomainEventType.JobFailed, done, session);
      await this.settler.settle(em, session);
      return outcome;
    });
  }
}
