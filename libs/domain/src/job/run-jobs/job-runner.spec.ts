import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { FileStatus, JobStatus, JobType } from '@app/contracts';
import { JobRecord, SessionRecord } from '../../lifecycle/records';
import { ObjectRead, ObjectStorage } from '../../ports/object-storage.port';
import { JobHandlerRegistry } from '../handlers/job-handler-registry';
import { ChecksumJobHandler, ValidationJobHandler } from '@app/processing';
import { ClaimResult, FinishedAttempt, JobLedger } from './job-ledger';
import { JobRunner, JobRunSettings, OutcomeNotRecorded, ProcessorStopping } from './job-runner';

const BYTES = Buffer.from('hello, jobs');

/** The store, in memory: counts the reads; `gate` holds every read until opened. */
class FakeStorage {
  reads = 0;
  readKeys: string[] = [];
  gate: Promise<void> = Promise.resolve();
  async read(key: string, opts: { signal?: AbortSignal } = {}): Promise<ObjectRead | null> {
    this.reads++;
    this.readKeys.push(key);
    await Promise.race([this.gate, new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true }))]);
    return { size: BYTES.length, etag: 'e', body: Readable.from([BYTES]) };
  }
}

/** JobLedger's contract, in memory: claims PENDING jobs (and due siblings of the given types), settles by lease token. */
class FakeLedger {
  readonly jobs = new Map<string, JobRecord>();
  readonly claims: string[][] = [];
  readonly settled: FinishedAttempt[] = [];
  held: ((ids: string[]) => Set<string>) | null = null;
  readonly session: SessionRecord = {
    id: randomUUID(),
    groupId: null,
    userId: null,
    bucket: 'b',
    objectKey: 'uploads/x/a.txt',
    uploadId: null,
    status: FileStatus.UPLOADED,
    filename: 'a.txt',
    contentType: 'text/plain',
    size: BYTES.length,
    checksumSha256: null,
    etag: 'e',
    error: null,
    errorMessage: null,
  };

  /** Sessions of their own (`add(type, 3, { sessionId })`); the rest share `session`. */
  readonly sessions = new Map<string, SessionRecord>();

  add(type: JobType, maxAttempts = 3, opts: { sessionId?: string; priority?: number } = {}): JobRecord {
    if (opts.sessionId && !this.sessions.has(opts.sessionId)) {
      this.sessions.set(opts.sessionId, { ...this.session, id: opts.sessionId, objectKey: `uploads/${opts.sessionId}/a.txt` });
    }
    const job: JobRecord = {
      id: randomUUID(),
      sessionId: opts.sessionId ?? this.session.id,
      type,
      status: JobStatus.PENDING,
      priority: opts.priority ?? 5,
      required: true,
      config: {},
      result: null,
      error: null,
      attempts: 0,
      maxAttempts,
      lockedUntil: null,
      runAfter: null,
      leaseToken: null,
    };
    this.jobs.set(job.id, job);
    return job;
  }

  async claim(ids: string[], opts: { siblingTypes?: JobType[] }): Promise<ClaimResult> {
    this.claims.push(ids);
    const claimed = [...this.jobs.values()].filter((j) => j.status === JobStatus.PENDING && (ids.includes(j.id) || opts.siblingTypes?.includes(j.type)));
    for (const j of claimed) Object.assign(j, { status: JobStatus.RUNNING, attempts: j.attempts + 1, leaseToken: randomUUID() });
    const decided = new Map(ids.filter((id) => !claimed.some((j) => j.id === id)).map((id) => [id, 'duplicate' as const]));
    return { claimed: claimed.map((job) => ({ job: { ...job }, session: this.sessions.get(job.sessionId) ?? this.session })), decided };
  }

  async settle(attempts: FinishedAttempt[]): Promise<Map<string, JobRecord | null>> {
    this.settled.push(...attempts);
    const out = new Map<string, JobRecord | null>();
    for (const a of attempts) {
      const job = this.jobs.get(a.job.id)!;
      if (job.status !== JobStatus.RUNNING || job.leaseToken !== a.settlement.leaseToken) {
        out.set(a.job.id, null);
        continue;
      }
      Object.assign(job, { status: a.settlement.to, result: a.settlement.result, error: a.settlement.error, leaseToken: null });
      out.set(a.job.id, { ...job });
    }
    return out;
  }

  async renew(held: { id: string }[]): Promise<Set<string>> {
    return this.held ? this.held(held.map((h) => h.id)) : new Set(held.map((h) => h.id));
  }
}

const SETTINGS: JobRunSettings = {
  leaseMs: 60_000,
  leaseRenewalMs: 20,
  releaseAfterMs: 10,
  timeoutMs: 60_000,
  consumedTypes: [JobType.VALIDATION, JobType.CHECKSUM],
};

function runner(ledger: FakeLedger, storage: FakeStorage, settings: Partial<JobRunSettings> = {}): JobRunner {
  const port = storage as unknown as ObjectStorage;
  const handlers = new JobHandlerRegistry([new ValidationJobHandler(port), new ChecksumJobHandler(port)], SETTINGS.consumedTypes);
  return new JobRunner(ledger as unknown as JobLedger, handlers, port, { ...SETTINGS, ...settings });
}

describe('JobRunner (in-memory ledger and store)', () => {
  let r: JobRunner | undefined;
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'error', 'warn']));
  afterEach(async () => {
    r?.beforeApplicationShutdown();
    await r?.idle();
  });

  it('claims the messages of one turn together; a session’s jobs share one read, each records its own result', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    r = runner(ledger, storage);
    const validation = ledger.add(JobType.VALIDATION);
    const checksum = ledger.add(JobType.CHECKSUM);
    const outcomes = await Promise.all([r.run({ jobId: validation.id }), r.run({ jobId: checksum.id })]);
    expect(outcomes).toEqual(['completed', 'completed']);
    expect(ledger.claims).toEqual([[validation.id, checksum.id]]);
    expect(storage.reads).toBe(1);
    expect(ledger.jobs.get(validation.id)!.result).toMatchObject({ size: BYTES.length, declaredType: 'text/plain' });
    expect(ledger.jobs.get(checksum.id)!.result).toMatchObject({ md5: createHash('md5').update(BYTES).digest('hex') });
    expect(ledger.settled.find((a) => a.job.id === checksum.id)!.facts).toEqual({
      sha256: createHash('sha256').update(BYTES).digest('hex'),
      md5: createHash('md5').update(BYTES).digest('hex'),
    });
  });

  it('a sibling claimed with its session’s other job: its own message waits for that outcome, no second claim', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    let open!: () => void;
    storage.gate = new Promise((resolve) => (open = resolve));
    r = runner(ledger, storage);
    const validation = ledger.add(JobType.VALIDATION);
    const checksum = ledger.add(JobType.CHECKSUM);
    const first = r.run({ jobId: validation.id });
    while (storage.reads === 0) await new Promise((x) => setImmediate(x));
    const sibling = r.run({ jobId: checksum.id });
    open();
    expect(await Promise.all([first, sibling])).toEqual(['completed', 'completed']);
    expect(ledger.claims).toEqual([[validation.id]]);
    expect(storage.reads).toBe(1);
  });

  it('runs at most its type’s concurrency of handlers at once; claimed jobs wait for a slot, the most urgent first', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    let open!: () => void;
    storage.gate = new Promise((resolve) => (open = resolve));
    r = runner(ledger, storage, { consumedTypes: [JobType.VALIDATION], concurrency: { [JobType.VALIDATION]: 1 } });
    const routine = [1, 2, 3].map(() => ledger.add(JobType.VALIDATION, 3, { sessionId: randomUUID() }));
    const urgent = ledger.add(JobType.VALIDATION, 3, { sessionId: randomUUID(), priority: 1 });
    const outcomes = Promise.all([...routine, urgent].map((j) => r!.run({ jobId: j.id })));
    while (storage.reads === 0) await new Promise((x) => setImmediate(x));
    for (let i = 0; i < 20; i++) await new Promise((x) => setImmediate(x));
    // All four claimed in one transaction, one handler running: the urgent one.
    expect(ledger.claims).toHaveLength(1);
    expect(storage.readKeys).toEqual([`uploads/${urgent.sessionId}/a.txt`]);
    open();
    expect(await outcomes).toEqual(['completed', 'completed', 'completed', 'completed']);
    expect(storage.readKeys).toEqual([urgent, ...routine].map((j) => `uploads/${j.sessionId}/a.txt`));
  });

  it('at the signal, claimed jobs still waiting for a slot are given back without running', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    storage.gate = new Promise(() => undefined);
    r = runner(ledger, storage, { consumedTypes: [JobType.VALIDATION], concurrency: { [JobType.VALIDATION]: 1 }, releaseAfterMs: 200 });
    const [running, waiting] = [1, 2].map(() => ledger.add(JobType.VALIDATION, 3, { sessionId: randomUUID() }));
    void r.run({ jobId: running.id }).catch(() => undefined);
    const waited = r.run({ jobId: waiting.id });
    while (storage.reads === 0) await new Promise((x) => setImmediate(x));
    r.beforeApplicationShutdown();
    expect(await waited).toBe('released');
    expect(storage.reads).toBe(1);
    expect(ledger.settled.map((a) => a.job.id)).toEqual([waiting.id]);
    expect(ledger.settled[0].settlement).toMatchObject({ to: JobStatus.PENDING, release: true });
    // The running one goes back after releaseAfterMs.
    await r.idle();
    expect(ledger.settled.map((a) => a.job.id)).toEqual([waiting.id, running.id]);
    r = undefined;
  });

  it('a job whose lease is no longer held (cancelled, taken over) is stopped and writes nothing', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    storage.gate = new Promise(() => undefined);
    r = runner(ledger, storage, { consumedTypes: [JobType.VALIDATION] });
    r.onApplicationBootstrap();
    const job = ledger.add(JobType.VALIDATION);
    ledger.held = () => new Set();
    expect(await r.run({ jobId: job.id })).toBe('cancelled');
    expect(ledger.settled).toEqual([]);
  });

  it('a lease that ran out without a renewal (a suspended process) writes nothing; the message comes back', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    let open!: () => void;
    storage.gate = new Promise((resolve) => (open = resolve));
    r = runner(ledger, storage, { leaseMs: 1_000, consumedTypes: [JobType.VALIDATION] });
    const job = ledger.add(JobType.VALIDATION);
    const outcome = r.run({ jobId: job.id });
    while (storage.reads === 0) await new Promise((x) => setImmediate(x));
    const now = Date.now();
    const spy = jest.spyOn(Date, 'now').mockReturnValue(now + 5_000);
    open();
    await expect(outcome).rejects.toBeInstanceOf(OutcomeNotRecorded);
    spy.mockRestore();
    expect(ledger.settled).toEqual([]);
  });

  it('a transient failure is retried after a delay stage; a permanent one fails and is not dead-lettered', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    r = runner(ledger, storage);
    const missing = ledger.add(JobType.CHECKSUM);
    jest.spyOn(storage, 'read').mockResolvedValueOnce(null);
    expect(await r.run({ jobId: missing.id })).toBe('retry-scheduled');
    expect(ledger.settled[0].settlement).toMatchObject({ to: JobStatus.PENDING, delayMs: 1_000, error: expect.stringContaining('not in storage') });
    const wrongSize = ledger.add(JobType.VALIDATION);
    ledger.session.size = BYTES.length + 1;
    expect(await r.run({ jobId: wrongSize.id })).toBe('failed');
    expect(ledger.settled.find((a) => a.job.id === wrongSize.id)).toMatchObject({
      permanent: true,
      settlement: { to: JobStatus.FAILED, error: expect.stringContaining('size mismatch') },
    });
    ledger.session.size = BYTES.length;
  });

  it('a job that runs past JOB_TIMEOUT_SECONDS is stopped and retried (a transient failure)', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    storage.gate = new Promise(() => undefined);
    r = runner(ledger, storage, { timeoutMs: 50, consumedTypes: [JobType.VALIDATION] });
    const stuck = ledger.add(JobType.VALIDATION);
    expect(await r.run({ jobId: stuck.id })).toBe('retry-scheduled');
    expect(ledger.settled[0].settlement).toMatchObject({ to: JobStatus.PENDING, error: 'timed out after 0.05 s (JOB_TIMEOUT_SECONDS)', delayMs: 1_000 });
  });

  it('after the signal no message is taken, and running jobs are given back (attempt not counted)', async () => {
    const ledger = new FakeLedger();
    const storage = new FakeStorage();
    storage.gate = new Promise(() => undefined);
    r = runner(ledger, storage, { consumedTypes: [JobType.VALIDATION] });
    const running = ledger.add(JobType.VALIDATION);
    const outcome = r.run({ jobId: running.id });
    while (storage.reads === 0) await new Promise((x) => setImmediate(x));
    r.beforeApplicationShutdown();
    await expect(r.run({ jobId: ledger.add(JobType.VALIDATION).id })).rejects.toBeInstanceOf(ProcessorStopping);
    expect(await outcome).toBe('released');
    expect(ledger.settled[0].settlement).toMatchObject({ to: JobStatus.PENDING, release: true });
    r = undefined;
  });
});
