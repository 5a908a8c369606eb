import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus, JobStatus, JobType } from '@app/contracts';
import { ormConfig } from '@app/database';
import { Actor, buildObjectKey, CancelJobUseCase, ProcessingJob, ReconcileJobsUseCase, UnitOfWork, UploadSession } from '@app/domain';
import { domainServices, QUIET_RELAY } from '../support/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const ADMIN: Actor = { userId: null, isAdmin: true, uploadToken: null };
const env = testEnv();

/**
 * The job path's transactions against the real Postgres, raced: one lock order everywhere (no deadlock between a
 * cancel and claims), a session's outcome decided once when its jobs finish in concurrent transactions, abandoned
 * jobs recovered within their attempts, lost messages resent only when nothing waits in the queue.
 */
describe('JobLedger (Postgres)', () => {
  let orm: MikroORM;
  let services: ReturnType<typeof domainServices>;
  const relay = QUIET_RELAY;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(env.DATABASE_URL, { poolMax: 24 }));
    services = domainServices(orm);
  });
  afterAll(() => orm?.close(true));

  /** n uploaded sessions, each with a VALIDATION and a CHECKSUM job (PENDING). */
  async function uploaded(n: number, opts: { maxAttempts?: number } = {}): Promise<{ sessions: UploadSession[]; jobs: ProcessingJob[] }> {
    const em = orm.em.fork();
    const sessions = Array.from({ length: n }, () => {
      const id = randomUUID();
      const s = new UploadSession({
        id,
        bucket: env.S3_BUCKET,
        objectKey: buildObjectKey(id, 'f.txt'),
        filename: 'f.txt',
        contentType: 'text/plain',
        size: 3,
        expiresAt: new Date(Date.now() + 3_600_000),
        jobPlan: [],
      });
      s.status = FileStatus.UPLOADED;
      return s;
    });
    const jobs = sessions.flatMap((s) =>
      [JobType.VALIDATION, JobType.CHECKSUM].map(
        (type) => new ProcessingJob({ sessionId: s.id, type, priority: 5, required: true, maxAttempts: opts.maxAttempts ?? 3 }),
      ),
    );
    await em.persistAndFlush([...sessions, ...jobs]);
    return { sessions, jobs };
  }

  const deadlocks = async () =>
    Number((await services.db.query<{ n: string }>(`select deadlocks as n from pg_stat_database where datname = current_database()`))[0].n);
  const outboxOf = async (sessionIds: string[], routingKey: string) =>
    services.db.query(`select payload from outbox_message where routing_key = $1 and payload->'data'->>'sessionId' = any($2::text[])`, [
      routingKey,
      sessionIds,
    ]);

  it('claims in any order racing cancels: no deadlock, every job claimed or cancelled once', async () => {
    const { jobs } = await uploaded(20);
    const ids = jobs.map((j) => j.id);
    const before = await deadlocks();
    const cancel = (id: string) => {
      const em = orm.em.fork();
      return new CancelJobUseCase(new UnitOfWork(em, relay), services.lifecycle, services.settler).execute(ADMIN, id).catch((e: Error) => e);
    };
    const results = await Promise.all([
      services.ledger.claim(ids, { leaseMs: 60_000 }),
      services.ledger.claim([...ids].reverse(), { leaseMs: 60_000 }),
      ...ids.filter((_, i) => i % 3 === 0).map(cancel),
    ]);
    expect(await deadlocks()).toBe(before);
    const claimed = [...(results[0] as { claimed: unknown[] }).claimed, ...(results[1] as { claimed: unknown[] }).claimed];
    const rows = await services.db.query<{ status: JobStatus; attempts: number }>(`select status, attempts from processing_job where id = any($1::uuid[])`, [
      ids,
    ]);
    expect(rows.every((r) => r.status === JobStatus.RUNNING || r.status === JobStatus.CANCELLED)).toBe(true);
    expect(claimed).toHaveLength(rows.filter((r) => r.attempts === 1).length);
    expect(rows.filter((r) => r.attempts > 1)).toEqual([]);
  });

  it('a session whose two jobs finish in concurrent transactions completes once, with one session.completed', async () => {
    for (let round = 0; round < 5; round++) {
      const { sessions, jobs } = await uploaded(1);
      const { claimed } = await services.ledger.claim(
        jobs.map((j) => j.id),
        { leaseMs: 60_000 },
      );
      expect(claimed).toHaveLength(2);
      await Promise.all(
        claimed.map(({ job }) =>
          services.ledger.settle([
            { job, settlement: { id: job.id, leaseToken: job.leaseToken!, to: JobStatus.COMPLETED, result: { ok: true }, error: null } },
          ]),
        ),
      );
      const [s] = await services.db.query<{ status: FileStatus }>(`select status from upload_session where id = $1`, [sessions[0].id]);
      expect(s.status).toBe(FileStatus.COMPLETED);
      expect(await outboxOf([sessions[0].id], 'session.completed')).toHaveLength(1);
      expect(await outboxOf([sessions[0].id], 'job.completed')).toHaveLength(2);
    }
  });

  it('abandoned jobs (lease expired): re-queued while attempts are left, failed with a dead-letter copy on the last', async () => {
    const { sessions, jobs } = await uploaded(1, { maxAttempts: 2 });
    const [validation, checksum] = jobs;
    await services.db.query(`update processing_job set status = 'RUNNING', attempts = 1, locked_until = now() - interval '1 second' where id = $1`, [
      validation.id,
    ]);
    await services.db.query(`update processing_job set status = 'RUNNING', attempts = 2, locked_until = now() - interval '1 second' where id = $1`, [
      checksum.id,
    ]);
    expect(await services.ledger.recoverAbandoned([validation.id, checksum.id])).toEqual({ requeued: 1, failed: 1 });
    const rows = await services.db.query<{ id: string; status: JobStatus; attempts: number; error: string }>(
      `select id, status, attempts, error from processing_job where session_id = $1`,
      [sessions[0].id],
    );
    expect(rows.find((r) => r.id === validation.id)).toMatchObject({ status: JobStatus.PENDING, attempts: 1 });
    expect(rows.find((r) => r.id === checksum.id)).toMatchObject({
      status: JobStatus.FAILED,
      attempts: 2,
      error: 'lease expired on attempt 2 of 2: its processor stopped',
    });
    const [s] = await services.db.query<{ status: FileStatus; error: string }>(`select status, error from upload_session where id = $1`, [sessions[0].id]);
    expect(s).toEqual({ status: FileStatus.FAILED, error: 'CHECKSUM_FAILED' });
    const dead = await services.db.query(`select headers from outbox_message where routing_key = 'jobs.dead' and payload->>'jobId' = $1`, [checksum.id]);
    expect(dead).toEqual([{ headers: expect.objectContaining({ 'x-dead-letter-reason': expect.stringContaining('gave up after 2 of 2 attempts') }) }]);
  });

  /** The test fails on an item the step could not settle (the reconciler would log and count it). */
  const RAISE = {
    item: (_step: string, _item: string, e: unknown): never => {
      throw e;
    },
  };

  it('the reconciler resends a lost job message only when its queue holds nothing ready, once', async () => {
    const { jobs } = await uploaded(1);
    const [lost] = jobs;
    await services.db.query(`update processing_job set updated_at = now() - interval '10 minutes' where id = $1`, [lost.id]);
    const messages = async () =>
      (await services.db.query(`select 1 from outbox_message where routing_key like 'run.%' and payload->>'jobId' = $1`, [lost.id])).length;
    let ready = 7;
    const reconcile = new ReconcileJobsUseCase(services.db, services.ledger, { readyMessages: async () => ready });
    // A backlog waits in the queue: its messages are not lost, nothing is sent again.
    await reconcile.run({ batchSize: 100, stalePendingMs: 60_000 }, RAISE);
    expect(await messages()).toBe(0);
    ready = 0;
    expect((await reconcile.run({ batchSize: 100, stalePendingMs: 60_000 }, RAISE)).resent).toBeGreaterThanOrEqual(1);
    expect(await messages()).toBe(1);
    await reconcile.run({ batchSize: 100, stalePendingMs: 60_000 }, RAISE);
    expect(await messages()).toBe(1);
  });

  it('a job that crashes its processor every time ends FAILED after maxAttempts: each redelivery after a crash counts', async () => {
    const { sessions, jobs } = await uploaded(1, { maxAttempts: 3 });
    const [job] = jobs;
    const crash = () => services.db.query(`update processing_job set locked_until = now() - interval '1 second' where id = $1`, [job.id]);
    // First delivery, then the redeliveries of its unacked message after each crash (lease run out).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { claimed } = await services.ledger.claim([job.id], { leaseMs: 60_000 });
      expect(claimed.map((c) => [c.job.id, c.job.attempts])).toEqual([[job.id, attempt]]);
      await crash();
    }
    const last = await services.ledger.claim([job.id], { leaseMs: 60_000 });
    expect(last.claimed).toEqual([]);
    expect(last.decided.get(job.id)).toBe('failed');
    const [row] = await services.db.query<{ status: JobStatus; attempts: number; error: string }>(
      `select status, attempts, error from processing_job where id = $1`,
      [job.id],
    );
    expect(row).toEqual({ status: JobStatus.FAILED, attempts: 3, error: 'lease expired on attempt 3 of 3: its processor stopped' });
    expect(await outboxOf([sessions[0].id], 'session.failed')).toHaveLength(1);
  });

  it('a stray message ahead of its retry delay does not run the job: not due, sent again for when it is due', async () => {
    const { jobs } = await uploaded(1);
    const [job] = jobs;
    await services.db.query(`update processing_job set attempts = 1, run_after = now() + interval '1 minute' where id = $1`, [job.id]);
    const before = (await services.db.query(`select 1 from outbox_message where payload->>'jobId' = $1`, [job.id])).length;
    const { claimed, decided } = await services.ledger.claim([job.id], { leaseMs: 60_000 });
    expect(claimed).toEqual([]);
    expect(decided.get(job.id)).toBe('not-due');
    const [row] = await services.db.query<{ status: JobStatus; attempts: number }>(`select status, attempts from processing_job where id = $1`, [job.id]);
    expect(row).toEqual({ status: JobStatus.PENDING, attempts: 1 });
    expect((await services.db.query(`select 1 from outbox_message where payload->>'jobId' = $1`, [job.id])).length).toBe(before + 1);
  });
});
