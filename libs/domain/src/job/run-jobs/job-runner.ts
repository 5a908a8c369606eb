import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { jobDelayStage, JobStatus, JobType, RunJobV1 } from '@app/contracts';
import { JobSettlement } from '../../lifecycle/lifecycle-writer';
import { JobRecord, SessionRecord } from '../../lifecycle/records';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { ContentJobHandler, isContentJobHandler, JobContext, JobFailure, JobHandler, ObjectDigest } from '../handlers/job-handler';
import { JobHandlerRegistry } from '../handlers/job-handler-registry';
import { readObjectDigest, unionOfNeeds } from '../handlers/stored-object';
import { retryDelayMs } from '../plan/outcomes';
import { ClaimDecision, FinishedAttempt, JobLedger } from './job-ledger';

export interface JobRunSettings {
  leaseMs: number;
  /** How often running jobs renew their leases, and so how soon one notices a cancellation. */
  leaseRenewalMs: number;
  /** After SIGTERM, how long running jobs may go on before they are stopped and given back to other processors. */
  releaseAfterMs: number;
  /** Longest a job may run: then it is stopped and retried (a transient failure). */
  timeoutMs: number;
  /** The job types this processor consumes. */
  consumedTypes: readonly JobType[];
  /**
   * Most handlers of a type running at once (none: no limit). The consumer takes more messages than this, so that
   * claims, settles and acks overlap the handlers instead of holding their slots.
   */
  concurrency?: Partial<Record<JobType, number>>;
}
export const JOB_RUN_SETTINGS = Symbol('JobRunSettings');

export type JobRunOutcome = ClaimDecision | 'completed' | 'retry-scheduled' | 'released';

/** A message that arrived while the processor shuts down: it goes back to its queue untouched. */
export class ProcessorStopping extends Error {
  constructor() {
    super('the job processor is shutting down');
    this.name = 'ProcessorStopping';
  }
}

/**
 * A job's outcome could not be recorded: the database did not answer and the job's lease ran out meanwhile, so
 * another processor may own it now. Its message should come back (the claim then decides).
 */
export class OutcomeNotRecorded extends Error {
  constructor(jobId: string) {
    super(`the outcome of job ${jobId} was not recorded: its lease ran out before the database answered`);
    this.name = 'OutcomeNotRecorded';
  }
}

/** Why a running job was stopped. */
class Stop extends Error {
  constructor(
    readonly kind: 'shutdown' | 'lease-expired' | 'not-held' | 'timeout',
    message: string,
  ) {
    super(message);
    this.name = 'JobStopped';
  }
}

type Attempt = { ok: true; result: Record<string, unknown>; handler: JobHandler } | { ok: false; failure: JobFailure };

interface Waiter {
  resolve(outcome: JobRunOutcome): void;
  reject(error: unknown): void;
}

interface Running {
  job: JobRecord;
  session: SessionRecord;
  abort: AbortController;
  /** Local time until which the lease surely holds (renewal sent at t, lease L: t + L − safety). */
  leaseUntil: number;
  /** Messages of this job waiting for its outcome (a replay, or a sibling claimed together arriving later). */
  waiters: Waiter[];
  startedAt: number;
  timer?: NodeJS.Timeout;
  /** Holds a handler slot of its type (given back when its attempt finishes). */
  slotted?: boolean;
  /** Set when the lease is gone: nothing more of this attempt may be written. */
  lost?: 'expired' | 'not-held';
}

/** Most jobs one claim or settle transaction takes. */
const MAX_BATCH = 256;
/** Pause before trying again to record outcomes the database refused (it is down or restarting). */
const SETTLE_RETRY_MS = 1_000;

const abortedBy = (signal: AbortSignal): Stop | undefined => (signal.aborted && signal.reason instanceof Stop ? signal.reason : undefined);

/** A signal that aborts once every one of `signals` has: a shared read stops only when no job needs it any more. */
function allAborted(signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  const check = () => {
    if (signals.every((s) => s.aborted)) controller.abort(signals[0].reason);
  };
  for (const s of signals) s.addEventListener('abort', check, { once: true });
  check();
  return controller.signal;
}

/**
 * Runs job messages in batches. Messages arriving together are claimed in one transaction (their sessions' other
 * due jobs of the content types this processor runs join them); the jobs of a session then share one read of the
 * object, each handler recording its own result; the outcomes finished together are recorded in one transaction.
 * A message's promise settles once its job's outcome is committed (the consumer acks then), or with an error
 * when the message must come back (shutdown, outcome not recorded).
 *
 * Leases: one statement renews every running job's lease each `leaseRenewalMs`; a job whose lease is not held
 * any more (cancelled, taken over) or ran out without a successful renewal (the process was suspended, the
 * database unreachable) is aborted, and nothing more of it is written: every write names the claim's token.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('JobRunner');
  private readonly queued: { jobId: string; waiter: Waiter }[] = [];
  private readonly running = new Map<string, Running>();
  private readonly finished: FinishedAttempt[] = [];
  /** Claimed sessions' jobs waiting for handler slots, most urgent first (then in claim order). */
  private readonly ready: { priority: number; group: Running[] }[] = [];
  /** Free handler slots per type (a type without an entry is not limited); below zero while one session holds more than all. */
  private readonly free = new Map<JobType, number>();
  private readonly slots = new Map<JobType, number>();
  /** Since when each outcome has been refused by the database. */
  private readonly settleFailures = new Map<string, number>();
  private claiming = false;
  private settling = false;
  private renewing = false;
  private stopping = false;
  private renewal?: NodeJS.Timeout;
  private readonly siblingTypes: JobType[];
  /** A lease counts as held until this long before its end, for the clocks' sake. */
  private readonly safetyMs: number;

  constructor(
    private readonly ledger: JobLedger,
    private readonly handlers: JobHandlerRegistry,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
    @Inject(JOB_RUN_SETTINGS) private readonly settings: JobRunSettings,
  ) {
    const content = settings.consumedTypes.filter((t) => {
      const h = handlers.get(t);
      return h !== undefined && isContentJobHandler(h);
    });
    this.siblingTypes = content.length > 1 ? content : [];
    this.safetyMs = Math.min(1_000, settings.leaseMs / 10);
    for (const [type, n] of Object.entries(settings.concurrency ?? {}) as [JobType, number][]) {
      this.free.set(type, n);
      this.slots.set(type, n);
    }
  }

  onApplicationBootstrap(): void {
    this.renewal = setInterval(() => this.renewLeases(), this.settings.leaseRenewalMs);
  }

  /** Resolves with the outcome of the message's job once it is committed. */
  run(message: Pick<RunJobV1, 'jobId'>): Promise<JobRunOutcome> {
    if (this.stopping) return Promise.reject(new ProcessorStopping());
    return new Promise<JobRunOutcome>((resolve, reject) => {
      const waiter = { resolve, reject };
      const mine = this.running.get(message.jobId);
      if (mine) mine.waiters.push(waiter);
      else {
        this.queued.push({ jobId: message.jobId, waiter });
        this.scheduleClaim();
      }
    });
  }

  /**
   * SIGTERM: nothing new is claimed (messages arriving now go back to their queues); jobs still running after
   * `releaseAfterMs` are stopped and given back (PENDING, attempt not counted, message re-queued through the
   * outbox) so that another processor takes them at once instead of waiting for the lease to expire.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const q of this.queued.splice(0)) q.waiter.reject(new ProcessorStopping());
    // Claimed but not started: given back at once.
    for (const { group } of this.ready) for (const r of group) r.abort.abort(new Stop('shutdown', 'process shutting down'));
    this.pump();
    setTimeout(() => {
      for (const r of this.running.values()) r.abort.abort(new Stop('shutdown', 'process shutting down'));
    }, this.settings.releaseAfterMs).unref();
  }

  /** Resolves when no job is running or waiting to be recorded any more. */
  async idle(): Promise<void> {
    while (this.running.size > 0 || this.claiming || this.settling) await new Promise((r) => setTimeout(r, 20));
    clearInterval(this.renewal);
  }

  // ---- claiming

  private scheduleClaim(): void {
    if (this.claiming || this.queued.length === 0) return;
    this.claiming = true;
    // Messages delivered in the same turn of the event loop join the batch.
    setImmediate(() => void this.claimBatch());
  }

  private async claimBatch(): Promise<void> {
    const batch = this.queued.splice(0, MAX_BATCH);
    const toClaim = new Map<string, Waiter[]>();
    for (const q of batch) {
      const mine = this.running.get(q.jobId);
      if (mine) mine.waiters.push(q.waiter);
      else toClaim.set(q.jobId, [...(toClaim.get(q.jobId) ?? []), q.waiter]);
    }
    if (toClaim.size > 0) {
      try {
        await this.claim(toClaim);
      } catch (e) {
        if (toClaim.size === 1) for (const waiters of toClaim.values()) for (const w of waiters) w.reject(e);
        // One message must not fail the others of its batch: each is claimed alone (an outage fails them all fast).
        else for (const [id, waiters] of toClaim) await this.claim(new Map([[id, waiters]])).catch((err: unknown) => waiters.forEach((w) => w.reject(err)));
      }
    }
    this.claiming = false;
    this.scheduleClaim();
  }

  private async claim(toClaim: Map<string, Waiter[]>): Promise<void> {
    const t0 = Date.now();
    const { claimed, decided } = await this.ledger.claim([...toClaim.keys()], { leaseMs: this.settings.leaseMs, siblingTypes: this.siblingTypes });
    for (const [id, decision] of decided) for (const w of toClaim.get(id) ?? []) w.resolve(decision);
    const started = claimed.map(({ job, session }) => {
      const r: Running = {
        job,
        session,
        abort: new AbortController(),
        leaseUntil: t0 + this.settings.leaseMs - this.safetyMs,
        waiters: toClaim.get(job.id) ?? [],
        startedAt: Date.now(),
      };
      this.running.set(job.id, r);
      return r;
    });
    // Claimed while the signal came: given back at once, nothing starts after it.
    if (this.stopping) for (const r of started) r.abort.abort(new Stop('shutdown', 'process shutting down'));
    this.start(started);
  }

  // ---- running

  /** Claimed jobs wait, by session, for handler slots of their types; the most urgent session goes first. */
  private start(started: Running[]): void {
    const bySession = new Map<string, Running[]>();
    for (const r of started) bySession.set(r.session.id, [...(bySession.get(r.session.id) ?? []), r]);
    for (const group of bySession.values()) {
      const priority = Math.min(...group.map((r) => r.job.priority));
      const at = this.ready.findIndex((w) => w.priority > priority);
      this.ready.splice(at === -1 ? this.ready.length : at, 0, { priority, group });
    }
    this.pump();
  }

  /**
   * Starts every waiting session whose jobs all find a free slot of their type (a stopped one starts at once: it
   * only records that it was stopped). A session that does not fit lets the next ones of other types go.
   */
  private pump(): void {
    for (let i = 0; i < this.ready.length;) {
      const { group } = this.ready[i];
      const stopped = group.every((r) => r.abort.signal.aborted);
      const need = new Map<JobType, number>();
      for (const r of group) need.set(r.job.type, (need.get(r.job.type) ?? 0) + 1);
      // A session with more jobs of a type than it has slots waits until they are all free.
      const fits = ([type, n]: [JobType, number]) => !this.free.has(type) || this.free.get(type)! >= Math.min(n, this.slots.get(type)!);
      if (!stopped && ![...need].every(fits)) {
        i++;
        continue;
      }
      this.ready.splice(i, 1);
      for (const r of group) {
        if (stopped || !this.free.has(r.job.type)) continue;
        this.free.set(r.job.type, this.free.get(r.job.type)! - 1);
        r.slotted = true;
      }
      this.launch(group);
    }
  }

  private launch(group: Running[]): void {
    for (const r of group) {
      r.timer = setTimeout(
        () => r.abort.abort(new Stop('timeout', `timed out after ${this.settings.timeoutMs / 1000} s (JOB_TIMEOUT_SECONDS)`)),
        this.settings.timeoutMs,
      );
    }
    const content = group.filter((r) => isContentJobHandler(this.handlerOf(r)));
    if (content.length > 0) void this.runContent(content);
    for (const r of group.filter((x) => !content.includes(x))) void this.runAlone(r);
  }

  private handlerOf(r: Running): JobHandler {
    const handler = this.handlers.get(r.job.type);
    if (!handler) throw new Error(`No handler for job type ${r.job.type}`);
    return handler;
  }

  private context(r: Running): JobContext {
    return { job: r.job, session: r.session, signal: r.abort.signal, checkpoint: () => this.checkpoint(r) };
  }

  /** The jobs of one session that only look at its bytes: one read of the object for all of them. */
  private async runContent(group: Running[]): Promise<void> {
    const handlers = group.map((r) => this.handlerOf(r) as ContentJobHandler);
    let digest: ObjectDigest | null = null;
    let readError: unknown;
    if (!group.every((r) => r.abort.signal.aborted)) {
      try {
        const needs = unionOfNeeds(group.map((r, i) => handlers[i].needs(this.context(r))));
        digest = await readObjectDigest(this.storage, group[0].session, needs, allAborted(group.map((r) => r.abort.signal)));
      } catch (e) {
        readError = e;
      }
    }
    await Promise.all(
      group.map(async (r, i) => {
        let attempt: Attempt;
        try {
          r.abort.signal.throwIfAborted();
          if (readError !== undefined) throw readError;
          attempt = { ok: true, result: await handlers[i].analyze(this.context(r), digest), handler: handlers[i] };
        } catch (e) {
          attempt = { ok: false, failure: this.failureOf(r, e) };
        }
        this.finish(r, attempt);
      }),
    );
  }

  private async runAlone(r: Running): Promise<void> {
    const handler = this.handlerOf(r);
    let attempt: Attempt;
    try {
      r.abort.signal.throwIfAborted();
      attempt = { ok: true, result: await handler.run(this.context(r)), handler };
    } catch (e) {
      attempt = { ok: false, failure: this.failureOf(r, e) };
    }
    this.finish(r, attempt);
  }

  private failureOf(r: Running, e: unknown): JobFailure {
    const stop = abortedBy(r.abort.signal);
    if (stop?.kind === 'timeout') return new JobFailure(stop.message, false);
    return e instanceof JobFailure ? e : new JobFailure(e instanceof Error ? e.message : String(e), false);
  }

  /** Throws when the job may no longer act: stopped, or its lease ran out (a suspended process learns it here first). */
  private checkpoint(r: Running): void {
    r.abort.signal.throwIfAborted();
    if (Date.now() > r.leaseUntil) {
      this.loseLease(r, 'expired');
      r.abort.signal.throwIfAborted();
    }
  }

  private loseLease(r: Running, why: 'expired' | 'not-held'): void {
    if (r.lost) return;
    r.lost = why;
    r.abort.abort(
      new Stop(why === 'expired' ? 'lease-expired' : 'not-held', why === 'expired' ? 'lease ran out without a renewal' : 'job cancelled or taken over'),
    );
  }

  // ---- recording outcomes

  private finish(r: Running, attempt: Attempt): void {
    clearTimeout(r.timer);
    if (r.slotted) {
      r.slotted = false;
      this.free.set(r.job.type, this.free.get(r.job.type)! + 1);
      this.pump();
    }
    if (Date.now() > r.leaseUntil) this.loseLease(r, 'expired');
    const stop = abortedBy(r.abort.signal);
    if (r.lost) return this.done(r, null);
    let settlement: JobSettlement;
    let permanent = false;
    if (stop?.kind === 'shutdown') {
      settlement = { id: r.job.id, leaseToken: r.job.leaseToken!, to: JobStatus.PENDING, result: null, error: null, release: true };
    } else if (attempt.ok) {
      settlement = { id: r.job.id, leaseToken: r.job.leaseToken!, to: JobStatus.COMPLETED, result: attempt.result, error: null };
    } else if (attempt.failure.permanent || r.job.attempts >= r.job.maxAttempts) {
      permanent = attempt.failure.permanent;
      settlement = { id: r.job.id, leaseToken: r.job.leaseToken!, to: JobStatus.FAILED, result: attempt.failure.result, error: attempt.failure.message };
    } else {
      // Its message waits in a delay stage; the job is due when the stage returns it.
      const delayMs = jobDelayStage(retryDelayMs(r.job.attempts));
      settlement = { id: r.job.id, leaseToken: r.job.leaseToken!, to: JobStatus.PENDING, result: null, error: attempt.failure.message, delayMs };
    }
    const facts = attempt.ok ? attempt.handler.sessionFacts?.(attempt.result) : undefined;
    this.finished.push({ job: r.job, settlement, permanent, facts });
    this.scheduleSettle();
  }

  private scheduleSettle(): void {
    if (this.settling || this.finished.length === 0) return;
    this.settling = true;
    setImmediate(() => void this.settleBatch());
  }

  private async settleBatch(): Promise<void> {
    const batch = this.finished.splice(0, MAX_BATCH).filter((a) => {
      const r = this.running.get(a.job.id)!;
      if (Date.now() > r.leaseUntil) this.loseLease(r, 'expired');
      if (r.lost) this.done(r, null);
      return !r.lost;
    });
    if (batch.length > 0) {
      try {
        await this.settle(batch);
      } catch (e) {
        if (batch.length > 1) {
          // One outcome must not hold back the others of its batch: each is recorded alone.
          for (const a of batch) await this.settle([a]).catch((err: unknown) => this.settleFailed(a, err));
        } else this.settleFailed(batch[0], e);
      }
    }
    this.settling = false;
    this.scheduleSettle();
  }

  private async settle(batch: FinishedAttempt[]): Promise<void> {
    const written = await this.ledger.settle(batch);
    for (const a of batch) this.settleFailures.delete(a.job.id);
    for (const a of batch) this.done(this.running.get(a.job.id)!, written.get(a.job.id) ?? null, a.settlement);
  }

  /**
   * The database refused an outcome (down or restarting, or this outcome cannot be written): tried again while
   * the lease holds (it is renewed meanwhile); once the lease is gone, the message comes back and the claim decides.
   */
  private settleFailed(a: FinishedAttempt, e: unknown): void {
    const first = this.settleFailures.get(a.job.id) ?? Date.now();
    this.settleFailures.set(a.job.id, first);
    this.logger.warn({ msg: 'recording a job outcome failed; retrying', jobId: a.job.id, err: e instanceof Error ? e.message : String(e) });
    const r = this.running.get(a.job.id);
    if (r && Date.now() - first > this.settings.leaseMs) {
      // Refused for a whole lease while the lease itself was renewed: not an outage, this outcome cannot be written.
      // The attempt is abandoned to the lease's expiry, so the job is taken over, and fails once its attempts are used up.
      this.settleFailures.delete(a.job.id);
      this.loseLease(r, 'expired');
      return this.done(r, null);
    }
    setTimeout(() => {
      this.finished.push(a);
      this.scheduleSettle();
    }, SETTLE_RETRY_MS);
  }

  /** The attempt is over: its messages learn the outcome (null: nothing was written, its lease was gone). */
  private done(r: Running, written: JobRecord | null, settlement?: JobSettlement): void {
    if (this.running.get(r.job.id) !== r) return;
    this.running.delete(r.job.id);
    clearTimeout(r.timer);
    let outcome: JobRunOutcome | 'lease-lost';
    if (!written) outcome = r.lost === 'expired' ? 'lease-lost' : 'cancelled';
    else if (written.status === JobStatus.COMPLETED) outcome = 'completed';
    else if (written.status === JobStatus.FAILED) outcome = 'failed';
    else outcome = settlement?.release ? 'released' : 'retry-scheduled';
    this.logger.log({
      msg: 'job finished',
      correlationId: r.session.id,
      jobId: r.job.id,
      type: r.job.type,
      sessionId: r.session.id,
      outcome,
      attempt: r.job.attempts,
      ms: Date.now() - r.startedAt,
    });
    for (const w of r.waiters) {
      // A lease that ran out unrecorded: the message comes back and the next claim decides (take over, or a duplicate).
      if (outcome === 'lease-lost') w.reject(new OutcomeNotRecorded(r.job.id));
      else w.resolve(outcome);
    }
  }

  // ---- leases

  private renewLeases(): void {
    const now = Date.now();
    for (const r of this.running.values()) if (now > r.leaseUntil) this.loseLease(r, 'expired');
    // A waiting job whose lease ran out starts, only to record nothing.
    this.pump();
    const held = [...this.running.values()].filter((r) => !r.lost);
    if (held.length === 0 || this.renewing) return;
    this.renewing = true;
    this.ledger
      .renew(
        held.map((r) => ({ id: r.job.id, leaseToken: r.job.leaseToken! })),
        this.settings.leaseMs,
      )
      .then((still) => {
        for (const r of held) {
          if (still.has(r.job.id)) r.leaseUntil = now + this.settings.leaseMs - this.safetyMs;
          else this.loseLease(r, 'not-held');
        }
        this.pump();
      })
      .catch((e: unknown) => this.logger.warn({ msg: 'lease renewal failed', jobs: held.length, err: e instanceof Error ? e.message : String(e) }))
      .finally(() => (this.renewing = false));
  }
}
