import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, FileStatus, JobStatus, JobType } from '@app/contracts';
import type { JobSettlement } from '../../lifecycle/lifecycle-writer';
import { JobRecord, SessionRecord } from '../../lifecycle/records';
import { FINAL_JOB_STATUSES } from '../../lifecycle/transitions';
import { Outbox, OutboxRow } from '../../outbox/outbox';
import { JOB_STORE, JobStore, JobStoreTx } from '../../ports/job-store.port';
import { SessionFacts } from '../handlers/job-handler';
import { SessionSettler } from '../session-settler';
import { JOB_RUNNABLE_SESSION_STATUSES } from '../find-accessible-job';

/** What became of one job message's job when its batch was claimed. */
export type ClaimDecision =
  /** No such job (deleted with its session). */
  | 'gone'
  /** Already final: a replay or a sibling's message. */
  | 'duplicate'
  /** Its session ended before it ran: cancelled now. */
  | 'cancelled'
  /** Running under a live lease elsewhere: looked at again once that lease has run out (a delayed message). */
  | 'running-elsewhere'
  /** Not due yet (a stray message ahead of its retry delay): sent again for when it is due. */
  | 'not-due'
  /** Its processor died during its last attempt: failed now. */
  | 'failed';

export interface ClaimedJob {
  job: JobRecord;
  session: SessionRecord;
}

export interface ClaimResult {
  claimed: ClaimedJob[];
  /** For every requested job that was not claimed. */
  decided: Map<string, ClaimDecision>;
}

/** One attempt that ran to its end, to be written by the processor holding its lease. */
export interface FinishedAttempt {
  job: JobRecord;
  settlement: JobSettlement;
  /** FAILED only: the file's own fault, recorded but not dead-lettered. */
  permanent?: boolean;
  /** COMPLETED only: what the result adds to the session. */
  facts?: SessionFacts;
}

/** Slack after a foreign lease ends before its job is looked at again. */
const LEASE_RECHECK_SLACK_MS = 500;

/**
 * The transactions of the job path, each one batch of jobs whatever its size, each taking its rows in the one
 * lock order (sessions by id, then their jobs, then groups): claiming jobs, recording how attempts ended
 * (with the sessions' outcome), renewing leases and recovering jobs whose processor died. What to do is decided
 * here; the statements are the JobStore port's (compare-and-sets through LifecycleWriter on Postgres); messages
 * go through the outbox in the same transaction.
 */
@Injectable()
export class JobLedger {
  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    private readonly outbox: Outbox,
    private readonly settler: SessionSettler,
  ) {}

  /**
   * PENDING → RUNNING for the jobs of a batch of messages (and, with `siblingTypes`, their sessions' other due
   * jobs of those types), their sessions UPLOADED → PROCESSING; expired leases taken over while attempts are
   * left. Every other message gets its decision.
   */
  claim(jobIds: string[], opts: { leaseMs: number; siblingTypes?: JobType[] }): Promise<ClaimResult> {
    return this.store.transaction(async (tx) => {
      const {
        jobs: claimedJobs,
        sessions,
        started,
      } = await tx.claim({
        ids: jobIds,
        siblingTypes: opts.siblingTypes,
        leaseMs: opts.leaseMs,
        runnable: JOB_RUNNABLE_SESSION_STATUSES,
      });
      const out: OutboxRow[] = [];
      // The first claimed job of an uploaded session started its processing.
      for (const id of started) out.push(this.outbox.sessionEvent(DomainEventType.SessionProcessing, sessions.get(id)!));
      const claimedIds = new Set(claimedJobs.map((j) => j.id));
      const decided = new Map<string, ClaimDecision>();
      const rest = jobIds.filter((id) => !claimedIds.has(id));
      if (rest.length > 0) await this.decide(tx, rest, sessions, opts.leaseMs, { claimedJobs, decided, out });
      await tx.writeOutbox(out);
      return { claimed: claimedJobs.map((job) => ({ job, session: sessions.get(job.sessionId)! })), decided };
    });
  }

  /** What becomes of message jobs the claim did not take (their sessions are locked by it). */
  private async decide(
    tx: JobStoreTx,
    ids: string[],
    sessions: Map<string, SessionRecord>,
    leaseMs: number,
    into: { claimedJobs: JobRecord[]; decided: Map<string, ClaimDecision>; out: OutboxRow[] },
  ): Promise<void> {
    const { claimedJobs, decided, out } = into;
    const found = await tx.findJobs(ids);
    const now = Date.now();
    const cancels: { id: string; error: string }[] = [];
    const expired: string[] = [];
    for (const id of ids) {
      const job = found.find((j) => j.id === id);
      const session = job ? sessions.get(job.sessionId) : undefined;
      if (!job || !session) decided.set(id, 'gone');
      else if (FINAL_JOB_STATUSES.includes(job.status)) decided.set(id, 'duplicate');
      else if (session.status === FileStatus.FAILED || session.status === FileStatus.DELETED) {
        // A running one is its processor's (or, abandoned, the reconciler's) to end.
        if (job.status === JobStatus.PENDING) cancels.push({ id, error: `session is ${session.status}` });
        decided.set(id, job.status === JobStatus.PENDING ? 'cancelled' : 'running-elsewhere');
      } else if (job.status === JobStatus.RUNNING && job.lockedUntil !== null && job.lockedUntil.getTime() < now) {
        expired.push(id);
      } else if (job.status === JobStatus.RUNNING) {
        // Its processor may be dead (this may be the redelivery of its unacked message): look again once the
        // lease has run out, through a delay stage, instead of dropping the only message of the job.
        out.push(this.outbox.runJob(job, Math.max(0, (job.lockedUntil?.getTime() ?? now) - now) + LEASE_RECHECK_SLACK_MS));
        decided.set(id, 'running-elsewhere');
      } else {
        // PENDING but not claimable: not due yet. Never drop what may be its only message: send it for when it is due.
        out.push(this.outbox.runJob(job, Math.max(0, (job.runAfter?.getTime() ?? now) - now) + LEASE_RECHECK_SLACK_MS));
        decided.set(id, 'not-due');
      }
    }
    if (cancels.length > 0) await tx.cancelPending(cancels);
    // Redelivered after a crash: the dead attempt counts; a job that used its last one fails.
    if (expired.length > 0) claimedJobs.push(...(await tx.takeOver(expired, leaseMs)));
    const abandoned = expired.length > 0 ? await tx.failAbandoned(expired) : [];
    for (const job of abandoned) decided.set(job.id, 'failed');
    await this.recordFailures(tx, abandoned, sessions, out);
    for (const id of expired) if (!decided.has(id) && !claimedJobs.some((j) => j.id === id)) decided.set(id, 'running-elsewhere');
  }

  /**
   * Records how attempts ended, fenced by their lease tokens, with what follows: job events, dead-letter copies,
   * retry messages, session facts and outcomes. Returns each job as written, or null when its attempt no longer
   * held the job (cancelled, or taken over after its lease ran out): nothing of it was written.
   */
  settle(attempts: FinishedAttempt[]): Promise<Map<string, JobRecord | null>> {
    return this.store.transaction(async (tx) => {
      const facts = attempts.filter((a) => a.facts && Object.keys(a.facts).length > 0).map((a) => ({ jobId: a.job.id, ...a.facts }));
      const { jobs, sessions } = await tx.settle(
        attempts.map((a) => a.settlement),
        facts,
      );
      const written = new Map(jobs.map((j) => [j.id, j]));
      const out: OutboxRow[] = [];
      const finalSessions = new Set<string>();
      for (const a of attempts) {
        const job = written.get(a.job.id);
        if (!job) continue;
        const session = sessions.get(job.sessionId)!;
        if (job.status === JobStatus.COMPLETED) {
          out.push(this.outbox.jobEvent(DomainEventType.JobCompleted, job, session));
          finalSessions.add(job.sessionId);
        } else if (job.status === JobStatus.FAILED) {
          out.push(this.outbox.jobEvent(DomainEventType.JobFailed, job, session));
          // Retries exhausted: an operator's matter, so a copy goes to the dead-letter queue. A permanent failure is
          // the file's own (not an image, a type mismatch): recorded on the job and its event, not dead-lettered.
          if (!a.permanent) out.push(this.outbox.deadJob(job, `gave up after ${job.attempts} of ${job.maxAttempts} attempts: ${job.error}`));
          finalSessions.add(job.sessionId);
        } else {
          // Retried after its delay (run_after was set to the same delay), or given back to run at once.
          out.push(this.outbox.runJob(job, a.settlement.release ? undefined : a.settlement.delayMs));
        }
      }
      await this.settler.settleIn(
        tx,
        [...finalSessions].map((id) => sessions.get(id)!),
        out,
      );
      await tx.writeOutbox(out);
      return new Map(attempts.map((a) => [a.job.id, written.get(a.job.id) ?? null]));
    });
  }

  /** Extends the leases this processor holds; returns the ids still held. */
  renew(held: { id: string; leaseToken: string }[], leaseMs: number): Promise<Set<string>> {
    return this.store.transaction((tx) => tx.renewLeases(held, leaseMs));
  }

  /**
   * Jobs whose processor died (RUNNING past their lease), for the reconciler: queued again while attempts are
   * left (the dead attempt stays counted), failed otherwise.
   */
  recoverAbandoned(jobIds: string[]): Promise<{ requeued: number; failed: number }> {
    return this.store.transaction(async (tx) => {
      const sessions = await tx.lockSessionsOfJobs(jobIds);
      const out: OutboxRow[] = [];
      const requeued = await tx.requeueAbandoned(jobIds);
      for (const job of requeued) out.push(this.outbox.runJob(job));
      const failed = await tx.failAbandoned(jobIds);
      await this.recordFailures(tx, failed, sessions, out);
      await tx.writeOutbox(out);
      return { requeued: requeued.length, failed: failed.length };
    });
  }

  /**
   * PENDING jobs of a type, due for `staleMs` and untouched as long, get their message again (the caller knows
   * the type's queue holds none ready). Marked as sent (`updated_at`), so the next pass leaves them alone for as
   * long. Locks only those job rows (skipping locked ones) and writes no status: it waits for nothing.
   */
  resendLost(type: JobType, staleMs: number, limit: number): Promise<number> {
    return this.store.transaction(async (tx) => {
      const jobs = await tx.markStalePendingSent(type, staleMs, limit);
      await tx.writeOutbox(jobs.map((j) => this.outbox.runJob(j)));
      return jobs.length;
    });
  }

  /** Jobs failed because their processor died in their last attempt: their events, dead-letter copies, sessions. */
  private async recordFailures(tx: JobStoreTx, failed: JobRecord[], sessions: Map<string, SessionRecord>, out: OutboxRow[]): Promise<void> {
    if (failed.length === 0) return;
    for (const job of failed) {
      out.push(this.outbox.jobEvent(DomainEventType.JobFailed, job, sessions.get(job.sessionId)!));
      out.push(this.outbox.deadJob(job, `gave up after ${job.attempts} of ${job.maxAttempts} attempts: ${job.error}`));
    }
    await this.settler.settleIn(
      tx,
      [...new Set(failed.map((j) => j.sessionId))].map((id) => sessions.get(id)!),
      out,
    );
  }
}
