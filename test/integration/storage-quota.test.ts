import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import {
  DomainError,
  DomainErrorCode,
  FilePart,
  LifecycleWriter,
  SqlDatabase,
  SqlTx,
  StorageQuota,
  Tx,
  UploadPolicy,
  UploadSession,
  UploadSessionRepository,
} from '@app/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/** The real database, recording how many sessions each statement that inserts sessions carried. */
class StatementLog implements SqlDatabase {
  insertsCarrying: number[] = [];

  constructor(private readonly db: SqlDatabase) {}

  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<R[]> {
    if (text.includes('insert into upload_session')) this.insertsCarrying.push((values?.[5] as unknown[]).length);
    return this.db.query<R>(text, values);
  }
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }
  of(tx: Tx) {
    return this.db.of(tx);
  }
  withSessionLock<T>(key: number, work: () => Promise<T>): Promise<T | null> {
    return this.db.withSessionLock(key, work);
  }
}

/**
 * The quota against real Postgres: reservations race on one User row without overshooting (the statement
 * that inserts sessions charges them), and a session gives its bytes back exactly once however its
 * FAILED/DELETED transitions race or repeat.
 */
describe('storage quota (integration, Postgres)', () => {
  let orm: MikroORM;
  let sessions: UploadSessionRepository;
  let lifecycle: LifecycleWriter;
  let statements: StatementLog;
  const policy = { userQuotaBytes: 10 * MiB } as UploadPolicy;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }));
    lifecycle = new LifecycleWriter(new PgSqlDatabase(orm));
    statements = new StatementLog(new PgSqlDatabase(orm));
    sessions = new UploadSessionRepository(statements, new StorageQuota(policy), orm.em);
  });
  afterAll(() => orm?.close());

  const held = async (userId: string): Promise<number> => {
    const [row] = await orm.em.fork().execute<{ reserved_bytes: string }[]>('select reserved_bytes from app_user where id = ?', [userId]);
    return Number(row?.reserved_bytes ?? 0);
  };

  function session(userId: string | null, size: number): UploadSession {
    const id = randomUUID();
    return new UploadSession({
      id,
      bucket: 'b',
      objectKey: `uploads/${id}/f`,
      filename: 'f',
      contentType: 'text/plain',
      size,
      expiresAt: new Date(Date.now() + 60_000),
      userId,
      jobPlan: [],
    });
  }

  async function insert(s: UploadSession): Promise<'ok' | 'over'> {
    try {
      await sessions.insertNew([{ session: s }]);
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

  it("one owner's concurrent creations share a statement (group commit): 20 creations, 20 sessions stored and charged, far fewer statements", async () => {
    const user = `batch-${randomUUID()}`;
    const racing = Array.from({ length: 20 }, () => session(user, 100 * 1024));
    const before = statements.insertsCarrying.length;
    expect(await Promise.all(racing.map((s) => insert(s)))).toEqual(racing.map(() => 'ok'));
    const carried = statements.insertsCarrying.slice(before);
    // The first goes at once; those arriving while it runs go together in the next statement.
    expect(carried.reduce((a, b) => a + b, 0)).toBe(20);
    expect(carried.length).toBeLessThanOrEqual(3);
    expect(Math.max(...carried)).toBeGreaterThan(1);
    expect(await held(user)).toBe(20 * 100 * 1024);
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(20);
  });

  it('at the edge of the quota each creation still gets its own answer, as if they had come one after the other', async () => {
    const user = `edge-${randomUUID()}`;
    // 18 MiB asked against 10 MiB: some batch cannot fit as a whole, and its creations are then decided one by one.
    const sizes = [1, 6, 1, 1, 3, 1, 2, 1, 1, 1].map((n) => n * MiB);
    const racing = sizes.map((size) => session(user, size));
    const results = await Promise.all(racing.map((s) => insert(s)));
    const stored = racing.filter((_, i) => results[i] === 'ok');
    const holding = stored.reduce((n, s) => n + s.size!, 0);
    expect(holding).toBeLessThanOrEqual(10 * MiB);
    expect(await held(user)).toBe(holding);
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(stored.length);
    // One after the other, a refusal is final: what is held only grows, so a refused creation cannot fit in the end either.
    const refused = racing.filter((_, i) => results[i] === 'over');
    expect(refused.length).toBeGreaterThan(0);
    for (const s of refused) expect(holding + s.size!).toBeGreaterThan(10 * MiB);
  });

  it('a creation whose statement fails fails alone: the others of its batch are stored', async () => {
    const user = `alone-${randomUUID()}`;
    const first = session(user, MiB);
    expect(await insert(first)).toBe('ok');
    const others = Array.from({ length: 5 }, () => session(user, MiB));
    // Same id as a stored session: its insert breaks the primary key, and would break any statement carrying it.
    const clash = session(user, MiB);
    Object.assign(clash, { id: first.id });
    const results = await Promise.allSettled([insert(session(user, MiB)), ...others.map((s) => insert(s)), insert(clash)]);
    expect(results.slice(0, 6).map((r) => r.status)).toEqual(Array.from({ length: 6 }, () => 'fulfilled'));
    expect(results[6]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/duplicate key/) }) });
    expect(await held(user)).toBe(7 * MiB);
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(7);
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
    await expect(sessions.insertNew(three.map((s) => ({ session: s })))).rejects.toMatchObject({ code: DomainErrorCode.QUOTA_EXCEEDED });
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(0);
    await sessions.insertNew(three.slice(0, 2).map((s) => ({ session: s })));
    expect(await held(user)).toBe(8 * MiB);
    expect(await orm.em.fork().count(UploadSession, { userId: user })).toBe(2);
  });

  it('a refused multipart session leaves no row; an accepted one stores its part plan and no part rows (they come as parts arrive)', async () => {
    const user = `parts-${randomUUID()}`;
    const multipart = (size: number, partSize: number) =>
      Object.assign(session(user, size), { uploadId: `up-${randomUUID()}`, partSize, totalParts: Math.ceil(size / partSize) });
    const big = multipart(12 * MiB, 6 * MiB);
    expect(await insert(big)).toBe('over');
    const fits = multipart(10 * MiB, 5 * MiB);
    expect(await insert(fits)).toBe('ok');
    expect(await orm.em.fork().count(UploadSession, { id: big.id })).toBe(0);
    expect(await orm.em.fork().findOneOrFail(UploadSession, fits.id)).toMatchObject({ totalParts: 2, partSize: 5 * MiB, completedParts: 0 });
    expect(await orm.em.fork().count(FilePart, { sessionId: { $in: [big.id, fits.id] } })).toBe(0);
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
