import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { DomainEventType, FileStatus, GroupStatus, JobStatus, JobType } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { Client } from 'pg';
import { buildObjectKey, LifecycleWriter, ProcessingJob, UploadGroup, UploadSession } from '@app/domain';
import { domainServices } from '../support/domain';
import { waitFor } from '../support/poll';
import { testEnv } from '../support/test-env';

/** Compare-and-set against the real Postgres: under a race exactly one writer wins, the others see false. */
describe('LifecycleWriter (Postgres)', () => {
  let orm: MikroORM;
  let writer: LifecycleWriter;

  beforeAll(async () => {
    orm = await MikroORM.init({ ...ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }), allowGlobalContext: true });
    writer = new LifecycleWriter(new PgSqlDatabase(orm));
  });
  afterAll(() => orm?.close(true));

  async function aSession(status = FileStatus.PENDING_UPLOAD): Promise<UploadSession> {
    const id = randomUUID();
    const s = new UploadSession({
      id,
      bucket: 'b',
      objectKey: buildObjectKey(id, 'race.txt'),
      filename: 'race.txt',
      contentType: 'text/plain',
      size: 10,
      expiresAt: new Date(Date.now() + 60_000),
      jobPlan: [],
    });
    s.status = status;
    await orm.em.fork().persistAndFlush(s);
    return s;
  }

  const race = <T>(n: number, fn: () => Promise<T>) => Promise.all(Array.from({ length: n }, fn));

  it('lets exactly one of twelve concurrent markUploaded win', async () => {
    const s = await aSession();
    const results = await race(12, () => orm.em.fork().transactional((em) => writer.markUploaded(em, s.id, { etag: 'e' })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const after = await orm.em.fork().findOneOrFail(UploadSession, s.id);
    expect(after.status).toBe(FileStatus.UPLOADED);
    expect(after.version).toBe(2);
  });

  it('refuses transitions the table does not allow, without writing', async () => {
    const s = await aSession(FileStatus.COMPLETED);
    expect(await orm.em.fork().transactional((em) => writer.markUploaded(em, s.id, { etag: null }))).toBe(false);
    expect(await orm.em.fork().transactional((em) => writer.markFailed(em, s.id, 'X', 'y'))).toBe(false);
    expect((await orm.em.fork().findOneOrFail(UploadSession, s.id)).status).toBe(FileStatus.COMPLETED);
    expect(await orm.em.fork().transactional((em) => writer.markDeleted(em, s.id))).toBe(true);
  });

  it('claims a job once under a race, and takes over only an expired lease, with a new lease token', async () => {
    const s = await aSession(FileStatus.UPLOADED);
    const job = new ProcessingJob({ sessionId: s.id, type: JobType.VALIDATION, priority: 5, required: true, maxAttempts: 3 });
    await orm.em.fork().persistAndFlush(job);
    const claim = async (em: EntityManager) =>
      (await writer.claimJobs(em, { ids: [job.id], leaseMs: 60_000, runnable: [FileStatus.UPLOADED, FileStatus.PROCESSING] })).jobs;

    const claims = await race(12, () => orm.em.fork().transactional(claim));
    expect(claims.filter((c) => c.length === 1)).toHaveLength(1);
    const first = claims.find((c) => c.length === 1)![0];
    // The first claim of an uploaded session started its processing.
    expect((await orm.em.fork().findOneOrFail(UploadSession, s.id)).status).toBe(FileStatus.PROCESSING);
    expect(await orm.em.fork().transactional((em) => writer.takeOverJobs(em, [job.id], 60_000))).toEqual([]);

    await orm.em.fork().nativeUpdate(ProcessingJob, { id: job.id }, { lockedUntil: new Date(Date.now() - 1000) });
    const takeovers = await race(6, () => orm.em.fork().transactional((em) => writer.takeOverJobs(em, [job.id], 60_000)));
    expect(takeovers.filter((t) => t.length === 1)).toHaveLength(1);
    const taken = takeovers.find((t) => t.length === 1)![0];
    expect(taken).toMatchObject({ status: JobStatus.RUNNING, attempts: 2 });
    expect(taken.leaseToken).not.toBe(first.leaseToken);

    // The first claim's token no longer holds the job: it can neither renew nor complete it.
    expect(await orm.em.fork().transactional((em) => writer.renewJobLeases(em, [{ id: job.id, leaseToken: first.leaseToken! }], 60_000))).toEqual(new Set());
    const stale = { id: job.id, leaseToken: first.leaseToken!, to: JobStatus.COMPLETED as const, result: { stale: true }, error: null };
    expect((await orm.em.fork().transactional((em) => writer.settleJobs(em, [stale]))).jobs).toEqual([]);
    const done = await orm.em
      .fork()
      .transactional((em) =>
        writer.settleJobs(em, [{ ...stale, leaseToken: taken.leaseToken!, result: { fresh: true } }], [{ jobId: job.id, sha256: 'ab', md5: 'cd' }]),
      );
    expect(done.jobs).toEqual([expect.objectContaining({ status: JobStatus.COMPLETED, result: { fresh: true } })]);
    expect(await orm.em.fork().findOneOrFail(UploadSession, s.id)).toMatchObject({ sha256: 'ab', md5: 'cd' });
  });

  it('takes over an expired lease only while attempts are left; the last one fails the job', async () => {
    const s = await aSession(FileStatus.PROCESSING);
    const job = new ProcessingJob({ sessionId: s.id, type: JobType.VALIDATION, priority: 5, required: true, maxAttempts: 2 });
    await orm.em.fork().persistAndFlush(job);
    await orm.em.fork().nativeUpdate(ProcessingJob, { id: job.id }, { status: JobStatus.RUNNING, attempts: 2, lockedUntil: new Date(Date.now() - 1000) });
    expect(await orm.em.fork().transactional((em) => writer.takeOverJobs(em, [job.id], 60_000))).toEqual([]);
    const failed = await orm.em.fork().transactional((em) => writer.failAbandonedJobs(em, [job.id]));
    expect(failed).toEqual([
      expect.objectContaining({ status: JobStatus.FAILED, attempts: 2, error: 'lease expired on attempt 2 of 2: its processor stopped' }),
    ]);
  });

  it('claims only due jobs: a retry waits for its runAfter', async () => {
    const s = await aSession(FileStatus.PROCESSING);
    const job = new ProcessingJob({ sessionId: s.id, type: JobType.VALIDATION, priority: 5, required: true, maxAttempts: 3 });
    job.runAfter = new Date(Date.now() + 60_000);
    await orm.em.fork().persistAndFlush(job);
    const claim = async () =>
      (await orm.em.fork().transactional((em) => writer.claimJobs(em, { ids: [job.id], leaseMs: 60_000, runnable: [FileStatus.PROCESSING] }))).jobs;
    expect(await claim()).toEqual([]);
    await orm.em.fork().nativeUpdate(ProcessingJob, { id: job.id }, { runAfter: new Date(Date.now() - 1) });
    expect(await claim()).toEqual([expect.objectContaining({ id: job.id, status: JobStatus.RUNNING })]);
  });

  it('expires a group only when open and past its expiresAt: FAILED with error EXPIRED, once', async () => {
    const group = new UploadGroup({ name: 'expiring', totalFiles: 3, expiresAt: new Date(Date.now() + 60_000) });
    await orm.em.fork().persistAndFlush(group);
    const expire = () => orm.em.fork().transactional((em) => writer.markGroupExpired(em, group.id));
    expect(await expire()).toBeNull();
    await orm.em.fork().nativeUpdate(UploadGroup, { id: group.id }, { expiresAt: new Date(Date.now() - 1000) });
    const results = await race(6, expire);
    expect(results.filter((r) => r !== null)).toEqual([expect.objectContaining({ id: group.id, status: GroupStatus.FAILED, error: 'EXPIRED' })]);
    const done = new UploadGroup({ name: 'done', totalFiles: 1, expiresAt: new Date(Date.now() - 1000) });
    done.status = GroupStatus.COMPLETED;
    await orm.em.fork().persistAndFlush(done);
    expect(await orm.em.fork().transactional((em) => writer.markGroupExpired(em, done.id))).toBeNull();
    expect((await orm.em.fork().findOneOrFail(UploadGroup, done.id)).status).toBe(GroupStatus.COMPLETED);
  });

  it('a manual retry keeps counting attempts and grants the budget again on top, each time', async () => {
    const s = await aSession(FileStatus.COMPLETED);
    const job = new ProcessingJob({ sessionId: s.id, type: JobType.CHECKSUM, priority: 5, required: false, maxAttempts: 2 });
    job.status = JobStatus.FAILED;
    job.attempts = 2;
    job.error = 'boom';
    await orm.em.fork().persistAndFlush(job);
    const retry = () => orm.em.fork().transactional((em) => writer.requeueJob(em, job.id));
    expect(await retry()).toMatchObject({ status: JobStatus.PENDING, attempts: 2, maxAttempts: 4, error: 'boom' });
    expect(await retry()).toBeNull(); // PENDING: not retried twice
    await orm.em.fork().nativeUpdate(ProcessingJob, { id: job.id }, { status: JobStatus.CANCELLED, attempts: 3 });
    expect(await retry()).toMatchObject({ status: JobStatus.PENDING, attempts: 3, maxAttempts: 5 });
    expect((await orm.em.fork().findOneOrFail(ProcessingJob, job.id)).attemptBudget).toBe(2);
  });

  it("records the deletion of a FAILED session's bytes once, and never for another status", async () => {
    const failed = await aSession(FileStatus.FAILED);
    const completed = await aSession(FileStatus.COMPLETED);
    const mark = () => orm.em.fork().transactional((em) => writer.markFailedObjectsDeleted(em, [failed.id, completed.id]));
    expect(await mark()).toEqual([failed.id]);
    expect(await mark()).toEqual([]);
    expect((await orm.em.fork().findOneOrFail(UploadSession, failed.id)).objectDeletedAt).toBeInstanceOf(Date);
    expect((await orm.em.fork().findOneOrFail(UploadSession, completed.id)).objectDeletedAt).toBeNull();
  });

  it('ending a grouped session locks its group before its owner (lock order sessions → groups → users)', async () => {
    const userId = `lock-order-${randomUUID()}`;
    await orm.em.fork().getConnection().execute(`insert into app_user (id, created_at, reserved_bytes) values (?, now(), 10)`, [userId]);
    const group = new UploadGroup({ name: 'lock order', totalFiles: 2, userId, fileCount: 1 });
    await orm.em.fork().persistAndFlush(group);
    const s = await aSession(FileStatus.UPLOADING);
    await orm.em.fork().nativeUpdate(UploadSession, { id: s.id }, { groupId: group.id, userId, quotaBytes: 10 });
    const url = testEnv().DATABASE_URL;
    const userHolder = new Client({ connectionString: url });
    const groupProbe = new Client({ connectionString: url });
    await Promise.all([userHolder.connect(), groupProbe.connect()]);
    try {
      // Someone holds the owner's row (a session of theirs being created or ending).
      await userHolder.query('begin');
      await userHolder.query(`select id from app_user where id = $1 for update`, [userId]);
      // The session fails (as expiry, abort, cancel do): its status write, its quota, its group's counters.
      const { db, lifecycle, endings } = domainServices(orm);
      const ending = db.transaction(async (tx) => {
        const moved = await lifecycle.failSessions(tx, [{ id: s.id, error: 'EXPIRED', errorMessage: 'expired' }], [FileStatus.UPLOADING]);
        await endings.endedMany(tx, moved, DomainEventType.SessionFailed);
        return moved.length;
      });
      await waitFor(
        async () =>
          (await groupProbe.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%app_user%'`)).rows[0]
            .n as number,
        (n) => n > 0,
        { timeoutMs: 10_000, what: 'the ending to wait for the owner' },
      );
      // While it waits for the owner, it already holds the group: it took the group first.
      await groupProbe.query('begin');
      await expect(groupProbe.query(`select id from upload_group where id = $1 for update nowait`, [group.id])).rejects.toThrow(/could not obtain lock/);
      await groupProbe.query('rollback');
      await userHolder.query('commit');
      expect(await ending).toBe(1);
      const [{ reserved_bytes }] = (await groupProbe.query(`select reserved_bytes from app_user where id = $1`, [userId])).rows;
      expect(Number(reserved_bytes)).toBe(0);
    } finally {
      await Promise.all([userHolder.end(), groupProbe.end()]);
    }
  }, 30_000);
});
