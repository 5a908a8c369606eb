import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { DomainEventType, FileStatus, JobStatus, JobType, SessionEventType } from '@app/contracts';
import { ChecksumJobHandler, ValidationJobHandler } from '@app/processing';
import type { JobSettlement } from '../../lifecycle/lifecycle-writer';
import { JobRecord, SessionRecord } from '../../lifecycle/records';
import { canTransition, FILE_STATUS_TRANSITIONS, JOB_STATUS_TRANSITIONS } from '../../lifecycle/transitions';
import { Outbox, OutboxRow } from '../../outbox/outbox';
import { JobStore, JobStoreTx, SettleJobRow } from '../../ports/job-store.port';
import type { MessageAddressing } from '../../ports/message-addressing.port';
import { ObjectRead, ObjectStorage } from '../../ports/object-storage.port';
import { JobHandlerRegistry } from '../handlers/job-handler-registry';
import { SessionSettler } from '../session-settler';
import { JobLedger } from './job-ledger';
import { JobRunner, JobRunSettings, OutcomeNotRecorded } from './job-runner';

/**
 * RunJob (JobRunner, JobLedger and SessionSettler together) against an in-memory JobStore and store: every
 * outcome a job message can have, and the settle rules, with no database.
 */

const BYTES = Buffer.from('hello, jobs');

/** The store in memory: `missing` keys answer as absent; `gate` holds every read until opened. */
class FakeStorage {
  reads = 0;
  missing = new Set<string>();
  gate: Promise<void> = Promise.resolve();
  async read(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectRead | null> {
    this.reads++;
    await Promise.race([this.gate, new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true }))]);
    return this.missing.has(key) ? null : { size: BYTES.length, etag: 'e', body: Readable.from([BYTES]) };
  }
}

const clone = <T>(m: Map<string, T>) => new Map([...m].map(([k, v]) => [k, { ...v }]));

/**
 * JobStore in memory, with the SQL implementation's contract: compare-and-set writes checked against the
 * transition tables, lease tokens fencing settles, due times, and a transaction that commits all or nothing.
 */
class InMemoryJobStore implements JobStore {
  sessions = new Map<string, SessionRecord>();
  jobs = new Map<string, JobRecord>();
  /** Every message committed, in order. */
  readonly messages: OutboxRow[] = [];
  commits = 0;
  /** Runs inside the next transaction's claim, before it reads: a competitor's write landing first. */
  beforeClaim: (() => void) | null = null;

  constructor(private readonly outbox: Outbox) {}

  session(overrides: Partial<SessionRecord> = {}): SessionRecord {
    const s: SessionRecord = {
      id: randomUUID(),
      groupId: null,
      userId: null,
      bucket: 'b',
      objectKey: `uploads/${randomUUID()}/a.txt`,
      uploadId: null,
      status: FileStatus.UPLOADED,
      filename: 'a.txt',
      contentType: 'text/plain',
      size: BYTES.length,
      checksumSha256: null,
      etag: 'e',
      error: null,
      errorMessage: null,
      ...overrides,
    };
    this.sessions.set(s.id, s);
    return s;
  }

  job(session: SessionRecord, type: JobType, overrides: Partial<JobRecord> = {}): JobRecord {
    const j: JobRecord = {
      id: randomUUID(),
      sessionId: session.id,
      type,
      status: JobStatus.PENDING,
      priority: 5,
      required: true,
      config: {},
      result: null,
      error: null,
      attempts: 0,
      maxAttempts: 3,
      lockedUntil: null,
      runAfter: null,
      leaseToken: null,
      ...overrides,
    };
    this.jobs.set(j.id, j);
    return j;
  }

  events(type?: string): OutboxRow[] {
    return this.messages.filter((m) => m.exchange === 'domain-event' && (type === undefined || m.routingKey === type));
  }

  async transaction<T>(work: (tx: JobStoreTx) => Promise<T>): Promise<T> {
    const saved = { sessions: clone(this.sessions), jobs: clone(this.jobs) };
    const out: OutboxRow[] = [];
    try {
      const result = await work(this.tx(out));
      this.messages.push(...out);
      this.commits++;
      return result;
    } catch (e) {
      this.sessions = saved.sessions;
      this.jobs = saved.jobs;
      throw e;
    }
  }

  of(): JobStoreTx {
    throw new Error('the job path opens its own transactions');
  }

  private moveJob(j: JobRecord, to: JobStatus, fields: Partial<JobRecord>): JobRecord {
    if (j.status !== to && !canTransition(JOB_STATUS_TRANSITIONS, j.status, to)) throw new Error(`job ${j.status} → ${to} is not in the table`);
    Object.assign(j, fields, { status: to });
    return { ...j };
  }

  private moveSession(s: SessionRecord, to: FileStatus, fields: Partial<SessionRecord> = {}): SessionRecord {
    if (!canTransition(FILE_STATUS_TRANSITIONS, s.status, to)) throw new Error(`session ${s.status} → ${to} is not in the table`);
    Object.assign(s, fields, { status: to });
    return { ...s };
  }

  private tx(out: OutboxRow[]): JobStoreTx {
    const now = () => Date.now();
    const lease = (ms: number) => ({ lockedUntil: new Date(now() + ms), leaseToken: randomUUID() });
    const expired = (j: JobRecord) => j.status === JobStatus.RUNNING && j.lockedUntil !== null && j.lockedUntil.getTime() < now();
    const sessionsOf = (jobIds: string[]) => {
      const ids = new Set(jobIds.map((id) => this.jobs.get(id)?.sessionId).filter((id): id is string => id !== undefined));
      return new Map([...ids].map((id) => [id, { ...this.sessions.get(id)! }]));
    };
    const store = this;
    return {
      async claim({ ids, siblingTypes = [], leaseMs, runnable }) {
        store.beforeClaim?.();
        store.beforeClaim = null;
        const sessions = sessionsOf(ids);
        const jobs: JobRecord[] = [];
        const started = new Set<string>();
        for (const j of store.jobs.values()) {
          const s = store.sessions.get(j.sessionId)!;
          if (!sessions.has(s.id) || !runnable.includes(s.status)) continue;
          if (!(ids.includes(j.id) || siblingTypes.includes(j.type)) || j.status !== JobStatus.PENDING) continue;
          if (j.runAfter && j.runAfter.getTime() > now()) continue;
          jobs.push(store.moveJob(j, JobStatus.RUNNING, { attempts: j.attempts + 1, runAfter: null, ...lease(leaseMs) }));
          if (s.status === FileStatus.UPLOADED) {
            store.moveSession(s, FileStatus.PROCESSING);
            started.add(s.id);
          }
        }
        for (const id of started) sessions.set(id, { ...store.sessions.get(id)! });
        return { jobs, sessions, started };
      },
      async findJobs(ids) {
        return ids.filter((id) => store.jobs.has(id)).map((id) => ({ ...store.jobs.get(id)! }));
      },
      async lockSessionsOfJobs(ids) {
        return sessionsOf(ids);
      },
      async cancelPending(cancels) {
        return cancels.flatMap(({ id, error }) => {
          const j = store.jobs.get(id);
          return j?.status === JobStatus.PENDING ? [store.moveJob(j, JobStatus.CANCELLED, { error, lockedUntil: null, leaseToken: null })] : [];
        });
      },
      async takeOver(ids, leaseMs) {
        return ids.flatMap((id) => {
          const j = store.jobs.get(id);
          return j && expired(j) && j.attempts < j.maxAttempts ? [store.moveJob(j, JobStatus.RUNNING, { attempts: j.attempts + 1, ...lease(leaseMs) })] : [];
        });
      },
      async failAbandoned(ids) {
        return ids.flatMap((id) => {
          const j = store.jobs.get(id);
          if (!j || !expired(j) || j.attempts < j.maxAttempts) return [];
          return [
            store.moveJob(j, JobStatus.FAILED, {
              error: `lease expired on attempt ${j.attempts} of ${j.maxAttempts}: its processor stopped`,
              lockedUntil: null,
              leaseToken: null,
            }),
          ];
        });
      },
      async requeueAbandoned(ids) {
        return ids.flatMap((id) => {
          const j = store.jobs.get(id);
          return j && expired(j) && j.attempts < j.maxAttempts
            ? [store.moveJob(j, JobStatus.PENDING, { error: 'lease expired: its processor stopped', runAfter: null, lockedUntil: null, leaseToken: null })]
            : [];
        });
      },
      async renewLeases(held, leaseMs) {
        const still = new Set<string>();
        for (const h of held) {
          const j = store.jobs.get(h.id);
          if (j?.status === JobStatus.RUNNING && j.leaseToken === h.leaseToken) {
            j.lockedUntil = new Date(now() + leaseMs);
            still.add(h.id);
          }
        }
        return still;
      },
      async settle(settlements: JobSettlement[]) {
        const sessions = sessionsOf(settlements.map((s) => s.id));
        const jobs: JobRecord[] = [];
        for (const v of settlements) {
          const j = store.jobs.get(v.id);
          if (!j || j.status !== JobStatus.RUNNING || j.leaseToken !== v.leaseToken) continue;
          const pending = v.to === JobStatus.PENDING;
          jobs.push(
            store.moveJob(j, v.to, {
              result: pending ? j.result : v.result,
              error: v.release ? j.error : v.error,
              runAfter: pending && (v.delayMs ?? 0) > 0 ? new Date(now() + v.delayMs!) : null,
              attempts: v.release ? Math.max(0, j.attempts - 1) : j.attempts,
              lockedUntil: null,
              leaseToken: null,
            }),
          );
        }
        return { jobs, sessions };
      },
      async markStalePendingSent(type, staleMs, limit) {
        return [...store.jobs.values()]
          .filter((j) => j.status === JobStatus.PENDING && j.type === type && (j.runAfter?.getTime() ?? 0) < now() - staleMs)
          .slice(0, limit);
      },
      async jobsOfSessions(ids): Promise<SettleJobRow[]> {
        return [...store.jobs.values()]
          .filter((j) => ids.includes(j.sessionId))
          .map((j) => ({ session_id: j.sessionId, type: j.type, status: j.status, required: j.required, error: j.error }));
      },
      async moveSessions(ids, to, from) {
        return ids.flatMap((id) => {
          const s = store.sessions.get(id);
          return s && from.includes(s.status) ? [store.moveSession(s, to)] : [];
        });
      },
      async failSessions(failures, from) {
        return failures.flatMap(({ id, error, errorMessage }) => {
          const s = store.sessions.get(id);
          return s && from.includes(s.status) ? [store.moveSession(s, FileStatus.FAILED, { error, errorMessage })] : [];
        });
      },
      async sessionsEnded(sessions, event: SessionEventType, rows) {
        for (const s of sessions) rows.push(store.outbox.sessionEvent(event, s));
      },
      async writeOutbox(rows) {
        out.push(...rows);
      },
    };
  }
}

const SETTINGS: JobRunSettings = {
  leaseMs: 60_000,
  leaseRenewalMs: 60_000,
  releaseAfterMs: 10,
  timeoutMs: 60_000,
  consumedTypes: [JobType.VALIDATION, JobType.CHECKSUM],
};

/** One processor; `shared` puts it on another's database and store (processors racing for the same jobs). */
function world(settings: Partial<JobRunSettings> = {}, shared?: { store: InMemoryJobStore; storage: FakeStorage }) {
  // Intents as addresses: the exchange names the intent (a delayed run says so), the routing key its event or job
  // type, a dead job's headers its attempts and reason (the broker's mapping has its own test in libs/messaging).
  const addressing: MessageAddressing = {
    addressOf: (i) => ({
      exchange: i.kind === 'run-job' && (i.delayMs ?? 0) > 0 ? 'run-job-delayed' : i.kind,
      routingKey: i.kind === 'domain-event' ? i.eventType : i.jobType,
      priority: null,
      headers: i.kind === 'dead-job' ? { 'x-attempts': String(i.attempts), 'x-dead-letter-reason': i.reason } : null,
    }),
  };
  const outbox = new Outbox(addressing, { kick: () => undefined, committed: () => undefined });
  const store = shared?.store ?? new InMemoryJobStore(outbox);
  const storage = shared?.storage ?? new FakeStorage();
  const ledger = new JobLedger(store, outbox, new SessionSettler(outbox, store));
  const port = storage as unknown as ObjectStorage;
  const all = { ...SETTINGS, ...settings };
  const handlers = new JobHandlerRegistry([new ValidationJobHandler(port), new ChecksumJobHandler(port)], all.consumedTypes);
  const runner = new JobRunner(ledger, handlers, port, all);
  return { store, storage, ledger, runner };
}

describe('RunJob: a job message → its outcome, with an in-memory JobStore', () => {
  const runners: JobRunner[] = [];
  const make = (settings: Partial<JobRunSettings> = {}, shared?: { store: InMemoryJobStore; storage: FakeStorage }) => {
    const w = world(settings, shared);
    runners.push(w.runner);
    return w;
  };
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  afterEach(async () => {
    for (const r of runners.splice(0)) {
      r.beforeApplicationShutdown();
      await r.idle();
    }
  });

  describe('claim decisions', () => {
    it('completed: both jobs run on one read in one claim and one settle; the session completes with exactly one session.completed', async () => {
      const { store, storage, runner } = make();
      const s = store.session();
      const v = store.job(s, JobType.VALIDATION);
      const c = store.job(s, JobType.CHECKSUM);
      expect(await Promise.all([runner.run({ jobId: v.id }), runner.run({ jobId: c.id })])).toEqual(['completed', 'completed']);
      expect(storage.reads).toBe(1);
      expect(store.commits).toBe(2);
      expect(store.jobs.get(v.id)).toMatchObject({
        status: JobStatus.COMPLETED,
        attempts: 1,
        leaseToken: null,
        result: expect.objectContaining({ size: BYTES.length }),
      });
      expect(store.jobs.get(c.id)).toMatchObject({ status: JobStatus.COMPLETED, result: expect.objectContaining({ md5: expect.any(String) }) });
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.COMPLETED);
      expect(store.events().map((e) => e.routingKey)).toEqual([
        DomainEventType.SessionProcessing,
        DomainEventType.JobCompleted,
        DomainEventType.JobCompleted,
        DomainEventType.SessionCompleted,
      ]);
    });

    it('duplicate: a replayed message of a final job changes nothing and sends nothing', async () => {
      const { store, runner } = make();
      const s = store.session({ status: FileStatus.COMPLETED });
      const j = store.job(s, JobType.VALIDATION, { status: JobStatus.COMPLETED, attempts: 1, result: { ok: true } });
      expect(await runner.run({ jobId: j.id })).toBe('duplicate');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
      expect(store.messages).toEqual([]);
    });

    it('gone: a message whose job no longer exists (deleted with its session)', async () => {
      const { store, runner } = make();
      expect(await runner.run({ jobId: randomUUID() })).toBe('gone');
      expect(store.messages).toEqual([]);
    });

    it('cancelled: a PENDING job of a session that failed or was deleted is cancelled and does not run', async () => {
      const { store, storage, runner } = make();
      for (const status of [FileStatus.FAILED, FileStatus.DELETED]) {
        const j = store.job(store.session({ status }), JobType.VALIDATION);
        expect(await runner.run({ jobId: j.id })).toBe('cancelled');
        expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.CANCELLED, error: `session is ${status}`, attempts: 0 });
      }
      expect(storage.reads).toBe(0);
    });

    it('running-elsewhere: a job under a live lease is left alone; its message is sent again for when the lease ends', async () => {
      const { store, storage, runner } = make();
      const s = store.session({ status: FileStatus.PROCESSING });
      const lockedUntil = new Date(Date.now() + 30_000);
      const j = store.job(s, JobType.VALIDATION, { status: JobStatus.RUNNING, attempts: 1, lockedUntil, leaseToken: randomUUID() });
      expect(await runner.run({ jobId: j.id })).toBe('running-elsewhere');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.RUNNING, attempts: 1, lockedUntil });
      expect(store.messages).toHaveLength(1);
      expect(store.messages[0]).toMatchObject({ exchange: 'run-job-delayed', payload: expect.objectContaining({ jobId: j.id }) });
      expect(storage.reads).toBe(0);
    });

    it('not-due: a stray message ahead of its retry delay does not run the job; it is sent again for when it is due', async () => {
      const { store, storage, runner } = make();
      const s = store.session({ status: FileStatus.PROCESSING });
      const j = store.job(s, JobType.VALIDATION, { attempts: 1, runAfter: new Date(Date.now() + 10_000) });
      expect(await runner.run({ jobId: j.id })).toBe('not-due');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 1 });
      expect(store.messages).toEqual([expect.objectContaining({ exchange: 'run-job-delayed', payload: expect.objectContaining({ jobId: j.id }) })]);
      expect(storage.reads).toBe(0);
    });

    it('failed: redelivered after its processor died in the last attempt, the job fails, is dead-lettered, and fails its session', async () => {
      const { store, storage, runner } = make();
      const s = store.session({ status: FileStatus.PROCESSING });
      const j = store.job(s, JobType.VALIDATION, {
        status: JobStatus.RUNNING,
        attempts: 3,
        maxAttempts: 3,
        lockedUntil: new Date(Date.now() - 1),
        leaseToken: randomUUID(),
      });
      expect(await runner.run({ jobId: j.id })).toBe('failed');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.FAILED, error: 'lease expired on attempt 3 of 3: its processor stopped' });
      expect(store.sessions.get(s.id)).toMatchObject({ status: FileStatus.FAILED, error: 'VALIDATION_FAILED' });
      expect(store.messages.filter((m) => m.exchange === 'dead-job')).toHaveLength(1);
      expect(store.events().map((e) => e.routingKey)).toEqual([DomainEventType.JobFailed, DomainEventType.SessionFailed]);
      expect(storage.reads).toBe(0);
    });

    it('taken over: redelivered after its processor died with attempts left, the job runs again under a new lease (the dead attempt counts)', async () => {
      const { store, runner } = make();
      const s = store.session({ status: FileStatus.PROCESSING });
      const dead = randomUUID();
      const j = store.job(s, JobType.VALIDATION, { status: JobStatus.RUNNING, attempts: 1, lockedUntil: new Date(Date.now() - 1), leaseToken: dead });
      expect(await runner.run({ jobId: j.id })).toBe('completed');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.COMPLETED, attempts: 2 });
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.COMPLETED);
    });

    it('a claim race: two processors get the same job; one runs it, the other leaves it to that lease', async () => {
      const a = make();
      const store = a.store;
      const { runner: runnerB } = make({}, a);
      let open!: () => void;
      a.storage.gate = new Promise((resolve) => (open = resolve));
      const s = store.session();
      const j = store.job(s, JobType.VALIDATION);
      const first = a.runner.run({ jobId: j.id });
      while (a.storage.reads === 0) await new Promise((x) => setImmediate(x));
      expect(await runnerB.run({ jobId: j.id })).toBe('running-elsewhere');
      open();
      expect(await first).toBe('completed');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.COMPLETED, attempts: 1 });
      expect(a.storage.reads).toBe(1);
      expect(store.events(DomainEventType.SessionCompleted)).toHaveLength(1);
    });

    it('a claim that loses its race inside the statement (a competitor claimed first) is decided, not run twice', async () => {
      const { store, storage, runner } = make({ consumedTypes: [JobType.VALIDATION] });
      const s = store.session();
      const j = store.job(s, JobType.VALIDATION);
      store.beforeClaim = () =>
        Object.assign(store.jobs.get(j.id)!, { status: JobStatus.RUNNING, attempts: 1, lockedUntil: new Date(Date.now() + 60_000), leaseToken: randomUUID() });
      expect(await runner.run({ jobId: j.id })).toBe('running-elsewhere');
      expect(store.jobs.get(j.id)!.attempts).toBe(1);
      expect(storage.reads).toBe(0);
    });

    it('a batch of messages of many sessions is claimed in one transaction and settled in one', async () => {
      const { store, runner } = make();
      const ids = Array.from({ length: 20 }, () => store.job(store.session(), JobType.CHECKSUM).id);
      expect(await Promise.all(ids.map((jobId) => runner.run({ jobId })))).toEqual(ids.map(() => 'completed'));
      expect(store.commits).toBe(2);
      expect(store.events(DomainEventType.SessionCompleted)).toHaveLength(20);
    });
  });

  describe('retries and the attempt budget', () => {
    it('a transient failure is retried after its delay stage with its attempt counted; the last attempt fails the job and is dead-lettered', async () => {
      const { store, storage, runner } = make({ consumedTypes: [JobType.CHECKSUM] });
      const s = store.session();
      storage.missing.add(s.objectKey);
      const j = store.job(s, JobType.CHECKSUM, { maxAttempts: 2 });
      expect(await runner.run({ jobId: j.id })).toBe('retry-scheduled');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 1, error: expect.stringContaining('not in storage') });
      expect(store.jobs.get(j.id)!.runAfter!.getTime()).toBeGreaterThan(Date.now());
      expect(store.messages.at(-1)).toMatchObject({ exchange: 'run-job-delayed', payload: expect.objectContaining({ jobId: j.id }) });
      // Its delayed message comes back once due.
      store.jobs.get(j.id)!.runAfter = new Date(Date.now() - 1);
      expect(await runner.run({ jobId: j.id })).toBe('failed');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.FAILED, attempts: 2 });
      expect(store.messages.filter((m) => m.exchange === 'dead-job')).toEqual([
        expect.objectContaining({
          headers: expect.objectContaining({ 'x-attempts': '2', 'x-dead-letter-reason': expect.stringContaining('gave up after 2 of 2 attempts') }),
        }),
      ]);
      expect(store.sessions.get(s.id)).toMatchObject({ status: FileStatus.FAILED, error: 'CHECKSUM_FAILED' });
    });

    it('a permanent failure (the file’s own fault) fails at once, attempts left or not, and is not dead-lettered', async () => {
      const { store, runner } = make({ consumedTypes: [JobType.VALIDATION] });
      const s = store.session({ size: BYTES.length + 1 });
      const j = store.job(s, JobType.VALIDATION, { maxAttempts: 5 });
      expect(await runner.run({ jobId: j.id })).toBe('failed');
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.FAILED, attempts: 1, error: expect.stringContaining('size mismatch') });
      expect(store.messages.filter((m) => m.exchange === 'dead-job')).toEqual([]);
      expect(store.events(DomainEventType.SessionFailed)).toHaveLength(1);
    });

    it('a lease that ran out unrecorded writes nothing: the message comes back and the next claim takes the job over', async () => {
      const { store, storage, runner } = make({ leaseMs: 1_000, consumedTypes: [JobType.VALIDATION] });
      let open!: () => void;
      storage.gate = new Promise((resolve) => (open = resolve));
      const s = store.session();
      const j = store.job(s, JobType.VALIDATION);
      const outcome = runner.run({ jobId: j.id });
      while (storage.reads === 0) await new Promise((x) => setImmediate(x));
      const spy = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 5_000);
      open();
      await expect(outcome).rejects.toBeInstanceOf(OutcomeNotRecorded);
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.RUNNING, attempts: 1 });
      // Redelivered: its lease is over, an attempt is left: a new attempt.
      expect(await runner.run({ jobId: j.id })).toBe('completed');
      spy.mockRestore();
      expect(store.jobs.get(j.id)).toMatchObject({ status: JobStatus.COMPLETED, attempts: 2 });
    });
  });

  describe('settle rules', () => {
    it('waits while a required job is not final; completes once every required job is done', async () => {
      const { store, runner } = make({ consumedTypes: [JobType.VALIDATION] });
      const s = store.session();
      const v = store.job(s, JobType.VALIDATION);
      const c = store.job(s, JobType.CHECKSUM);
      expect(await runner.run({ jobId: v.id })).toBe('completed');
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.PROCESSING);
      expect(store.events(DomainEventType.SessionCompleted)).toEqual([]);
      const other = make({ consumedTypes: [JobType.CHECKSUM] }, { store, storage: new FakeStorage() });
      expect(await other.runner.run({ jobId: c.id })).toBe('completed');
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.COMPLETED);
      expect(store.events(DomainEventType.SessionCompleted)).toHaveLength(1);
    });

    it('a required failure fails the session at once, even with another job still to run', async () => {
      const { store, runner } = make({ consumedTypes: [JobType.VALIDATION] });
      const s = store.session({ size: BYTES.length + 1 });
      const v = store.job(s, JobType.VALIDATION);
      store.job(s, JobType.THUMBNAIL);
      expect(await runner.run({ jobId: v.id })).toBe('failed');
      expect(store.sessions.get(s.id)).toMatchObject({
        status: FileStatus.FAILED,
        error: 'VALIDATION_FAILED',
        errorMessage: expect.stringContaining('size mismatch'),
      });
      expect(store.events(DomainEventType.SessionFailed)).toHaveLength(1);
    });

    it('an optional job’s failure does not fail the session: it completes once the required ones are done', async () => {
      const { store, runner } = make();
      const s = store.session({ size: BYTES.length + 1 });
      const v = store.job(s, JobType.VALIDATION, { required: false });
      const c = store.job(s, JobType.CHECKSUM);
      expect(await Promise.all([runner.run({ jobId: v.id }), runner.run({ jobId: c.id })])).toEqual(['failed', 'completed']);
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.COMPLETED);
      expect(store.events().map((e) => e.routingKey)).toEqual([
        DomainEventType.SessionProcessing,
        DomainEventType.JobFailed,
        DomainEventType.JobCompleted,
        DomainEventType.SessionCompleted,
      ]);
    });

    it('a session already settled does not move again: a job retried by hand on a COMPLETED session records only its own outcome', async () => {
      const { store, runner } = make({ consumedTypes: [JobType.VALIDATION] });
      const s = store.session({ status: FileStatus.COMPLETED });
      const j = store.job(s, JobType.VALIDATION, { attempts: 0 });
      expect(await runner.run({ jobId: j.id })).toBe('completed');
      expect(store.sessions.get(s.id)!.status).toBe(FileStatus.COMPLETED);
      expect(store.events().map((e) => e.routingKey)).toEqual([DomainEventType.JobCompleted]);
    });
  });

  describe('the reconciler’s recovery', () => {
    it('requeues abandoned jobs with attempts left and fails those without, settling their sessions', async () => {
      const { store, ledger } = make();
      const past = new Date(Date.now() - 1);
      const left = store.job(store.session({ status: FileStatus.PROCESSING }), JobType.VALIDATION, {
        status: JobStatus.RUNNING,
        attempts: 1,
        lockedUntil: past,
        leaseToken: randomUUID(),
      });
      const lost = store.session({ status: FileStatus.PROCESSING });
      const last = store.job(lost, JobType.VALIDATION, { status: JobStatus.RUNNING, attempts: 3, lockedUntil: past, leaseToken: randomUUID() });
      expect(await ledger.recoverAbandoned([left.id, last.id])).toEqual({ requeued: 1, failed: 1 });
      expect(store.jobs.get(left.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 1 });
      expect(store.messages.filter((m) => m.exchange === 'run-job')).toEqual([
        expect.objectContaining({ payload: expect.objectContaining({ jobId: left.id }) }),
      ]);
      expect(store.sessions.get(lost.id)!.status).toBe(FileStatus.FAILED);
    });
  });
});
