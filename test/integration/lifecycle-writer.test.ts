import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus, JobStatus, JobType } from '@app/contracts';
import { ormConfig } from '@app/database';
import { buildObjectKey, LifecycleWriter, ProcessingJob, UploadSession } from '@app/domain';
import { testEnv } from '../support/test-env';

/** Compare-and-set against the real Postgres: under a race exactly one writer wins, the others see false. */
describe('LifecycleWriter (Postgres)', () => {
  let orm: MikroORM;
  const writer = new LifecycleWriter();

  beforeAll(async () => {
    orm = await MikroORM.init({ ...ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }), allowGlobalContext: true });
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

  it('claims a job once under a race, and takes over only an expired lease', async () => {
    const s = await aSession(FileStatus.UPLOADED);
    const job = new ProcessingJob({ sessionId: s.id, type: JobType.VALIDATION, priority: 5, required: true, maxAttempts: 3 });
    await orm.em.fork().persistAndFlush(job);

    const claims = await race(12, () => orm.em.fork().transactional((em) => writer.claimJob(em, job.id, 60_000)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await orm.em.fork().transactional((em) => writer.takeOverJob(em, job.id, 60_000))).toBe(false);

    await orm.em.fork().nativeUpdate(ProcessingJob, { id: job.id }, { lockedUntil: new Date(Date.now() - 1000) });
    const takeovers = await race(6, () => orm.em.fork().transactional((em) => writer.takeOverJob(em, job.id, 60_000)));
    expect(takeovers.filter(Boolean)).toHaveLength(1);
    const after = await orm.em.fork().findOneOrFail(ProcessingJob, job.id);
    expect(after).toMatchObject({ status: JobStatus.RUNNING, attempts: 2 });
  });
});
