import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { DomainError, DomainErrorCode, FilePart, LifecycleWriter, StorageQuota, UploadPolicy, UploadSession, UploadSessionRepository } from '@app/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/**
 * The quota against real Postgres: reservations race on one User row without overshooting (the statement
 * that inserts sessions charges them), and a session gives its bytes back exactly once however its
 * FAILED/DELETED transitions race or repeat.
 */
describe('storage quota (integration, Postgres)', () => {
  let orm: MikroORM;
  let sessions: UploadSessionRepository;
  let lifecycle: LifecycleWriter;
  const policy = { userQuotaBytes: 10 * MiB } as UploadPolicy;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }));
    lifecycle = new LifecycleWriter(new PgSqlDatabase(orm));
    sessions = new UploadSessionRepository(new PgSqlDatabase(orm), new StorageQuota(policy), orm.em);
  });
  afterAll(() => orm?.close());

  const held = async (userId: string): Promise<number> => {
    const [row] = await orm.em.fork().execute<{ reserved_bytes: string }[]>('select reserved_bytes from app_user where id = ?', [userId]);
    return Number(row?.reserved_bytes ?? 0);
  };

  function session(userId: string | null, size: number): UploadSession {
    const id = randomUUID();
    return new UploadSession({ id, bucket: 'b', objectKey: `uploads/${id}/f`, filename: 'f', contentType: 'text/plain', size, expiresAt: new Date(Date.now() + 60_000), userId, jobPlan: [] });
  }

  async function insert(s: UploadSession, parts: FilePart[] = []): Promise<'ok' | 'over'> {
    try {
      await sessions.insertNew([{ session: s, parts }]);
      return 'ok';
    } catch (e) {
      if (e instanceof DomainError && e.code === DomainErrorCode.QUOTA_EXCEEDED) return 'over';
      throw e;
    }
  }

  it('20 concurrent inserts of 1 MiB for one user: exactly 10 fit, the rest roll back', async () => {
    const user = `race-${randomUUID()}`;
    const racing = Array.from({ length: 20 }, () => session(user, MiB));
    const results = await Promise.all(racing.map((s) => insert(s)));
    expect(results.filter((r) => r === 'ok')).toHaveLength(10);
    expect(await held(user)).toBe(10 * MiB);
    const stored = await orm.em.fork().count(UploadSession, { userId: user });
    expect(stored).toBe(10);
  });

  it('a session gives its bytes back once: racing markFailed/markDeleted, repeats and FAILED → DELETED release nothing more', async () => {
    const user = `release-${randomUUID()}`;
    const a = session(user, 3 * MiB);
    const b = session(user, 2 * MiB);
    expect(await insert(a)).toBe('ok');
    expect(await insert(b)).toBe('ok');
    expect(await held(user)).toBe(5 * MiB);

    const moves = await Promise.all([
      ...Array.from({ length: 5 }, () => orm.em.fork().transactional((em) => lifecycle.markFailed(em, a.id, 'TEST', 'race'))),
      ...Array.from({ length: 5 }, () => orm.em.fork().transactional((em) => lifecycle.markDeleted(em, a.id))),
    ]);
    // PENDING_UPLOAD → DELETED and FAILED → DELETED are legal, DELETED is final: exactly one markDeleted wins, and a
    // markFailed only if it came first. Either way the bytes come back once.
    const failedWins = moves.slice(0, 5).filter(Boolean).length;
    expect(moves.slice(5).filter(Boolean)).toHaveLength(1);
    expect([0, 1]).toContain(failedWins);
    expect((await orm.em.fork().findOneOrFail(UploadSession, a.id)).status).toBe(FileStatus.DELETED);
    expect(await held(user)).toBe(2 * MiB);
    await orm.em.fork().transactional((em) => lifecycle.markDeleted(em, a.id));
    expect(await held(user)).toBe(2 * MiB);

    // A rolled-back status change gives nothing back.
    await expect(
      orm.em.fork().transactional(async (em) => {
        expect(await lifecycle.markFailed(em, b.id, 'TEST', 'then rollback')).toBe(true);
        throw new Error('rollback on purpose');
      }),
    ).rejects.toThrow('rollback on purpose');
    expect(await held(user)).toBe(2 * MiB);
    expect((await orm.em.fork().findOneOrFail(UploadSession, b.id)).status).toBe(FileStatus.PENDING_UPLOAD);
  });

  it('a new user is created by their first charge; sessions of one owner are charged together, all or none', async () => {
    const user = `group-${randomUUID()}`;
    const three = [session(user, 4 * MiB), session(user, 4 * MiB), session(user, 4 * MiB)];
    await expect(sessions.insertNew(three.map((s) => ({ session: s, parts: [] })))).rejects.toMatchObject({ code: DomainErrorCode.QUOTA_EXCEEDED });
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(0);
    await sessions.insertNew(three.slice(0, 2).map((s) => ({ session: s, parts: [] })));
    expect(await held(user)).toBe(8 * MiB);
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(2);
  });

  it('a refused multipart session leaves neither its row nor its parts; an accepted one stores every part', async () => {
    const user = `parts-${randomUUID()}`;
    const big = session(user, 12 * MiB);
    expect(await insert(big, [1, 2].map((n) => new FilePart({ sessionId: big.id, partNumber: n, size: 6 * MiB })))).toBe('over');
    const fits = session(user, 10 * MiB);
    expect(await insert(fits, [1, 2].map((n) => new FilePart({ sessionId: fits.id, partNumber: n, size: 5 * MiB })))).toBe('ok');
    expect(await orm.em.fork().count(FilePart, { sessionId: { $in: [big.id, fits.id] } })).toBe(2);
    expect(await orm.em.fork().count(UploadSession, { id: big.id })).toBe(0);
  });

  it('a session persisted through the unit of work instead is refused (it would skip the quota)', async () => {
    await expect(orm.em.fork().persistAndFlush(session(`orm-${randomUUID()}`, MiB))).rejects.toThrow(/UploadSessionRepository.insertNew/);
  });

  it('anonymous sessions hold nothing', async () => {
    const s = session(null, 20 * MiB);
    expect(await insert(s)).toBe('ok');
    expect((await orm.em.fork().findOneOrFail(UploadSession, s.id)).quotaBytes).toBe(0);
  });
});
