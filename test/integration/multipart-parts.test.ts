import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus, PartStatus } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { buildObjectKey, FilePart, LifecycleWriter, MultipartParts, StoredPart, UploadSession } from '@app/domain';
import { testEnv } from '../support/test-env';

const MiB = 1024 ** 2;

/** Part reconciliation and the part verbs against the real Postgres, under races. */
describe('multipart parts (Postgres)', () => {
  let orm: MikroORM;
  let writer: LifecycleWriter;
  let parts: MultipartParts;

  beforeAll(async () => {
    orm = await MikroORM.init({ ...ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }), allowGlobalContext: true });
    writer = new LifecycleWriter(new PgSqlDatabase(orm));
    parts = new MultipartParts(writer);
  });
  afterAll(() => orm?.close(true));

  /**
   * A multipart session: with `totalParts` our part plan (in parts of 5 MiB; `eagerRows`: with a FilePart row per part,
   * as sessions created before rows were lazy have), without it the client picks its parts (Uppy).
   */
  async function aMultipartSession(totalParts = 0, eagerRows = true): Promise<UploadSession> {
    const id = randomUUID();
    const s = new UploadSession({
      id,
      bucket: 'b',
      objectKey: buildObjectKey(id, 'big.bin'),
      filename: 'big.bin',
      contentType: 'application/octet-stream',
      size: totalParts > 0 ? totalParts * 5 * MiB : null,
      expiresAt: new Date(Date.now() + 60_000),
      jobPlan: [],
    });
    s.uploadId = `upload-${id}`;
    s.totalParts = totalParts;
    s.partSize = totalParts > 0 ? 5 * MiB : 0;
    const em = orm.em.fork();
    em.persist(s);
    for (let n = 1; n <= (eagerRows ? totalParts : 0); n++) em.persist(new FilePart({ sessionId: id, partNumber: n, size: 5 * MiB }));
    await em.flush();
    return s;
  }

  const stored = (numbers: number[], etag = 'e'): StoredPart[] =>
    numbers.map((n) => ({ partNumber: n, etag: `${etag}${n}`, size: 5 * MiB, lastModified: new Date() }));
  const rows = (sessionId: string) => orm.em.fork().find(FilePart, { sessionId }, { orderBy: { partNumber: 'asc' } });
  const race = <T>(fns: (() => Promise<T>)[]) => Promise.all(fns.map((f) => f()));

  it('eight concurrent reconciliations of a client-chosen part list make one row per part, UPLOADED, and UPLOADING once', async () => {
    const s = await aMultipartSession();
    await race(Array.from({ length: 8 }, () => () => parts.reconcile(orm.em.fork(), s, stored([1, 2, 3]))));
    expect((await rows(s.id)).map((r) => [r.partNumber, r.status, r.etag])).toEqual([
      [1, PartStatus.UPLOADED, 'e1'],
      [2, PartStatus.UPLOADED, 'e2'],
      [3, PartStatus.UPLOADED, 'e3'],
    ]);
    const after = await orm.em.fork().findOneOrFail(UploadSession, s.id);
    // Created, counted once, moved to UPLOADING once: nothing written twice.
    expect(after).toMatchObject({ status: FileStatus.UPLOADING, completedParts: 3, version: 3 });
  });

  it('our plan, rows made lazily: concurrent reconciliations make one row per stored part only, parts beyond totalParts none', async () => {
    const s = await aMultipartSession(1000, false);
    expect(await rows(s.id)).toEqual([]);
    await race(Array.from({ length: 8 }, () => () => parts.reconcile(orm.em.fork(), s, stored([2, 5, 1001]))));
    expect((await rows(s.id)).map((r) => [r.partNumber, r.status, r.etag, r.size])).toEqual([
      [2, PartStatus.UPLOADED, 'e2', 5 * MiB],
      [5, PartStatus.UPLOADED, 'e5', 5 * MiB],
    ]);
    expect(await orm.em.fork().findOneOrFail(UploadSession, s.id)).toMatchObject({ status: FileStatus.UPLOADING, completedParts: 2, version: 3 });
    // Abort fails what has a row and is unfinished: nothing here (the store's parts were all reported).
    await orm.em.fork().transactional(async (em) => {
      expect(await writer.markAborted(em, s.id, 'gone')).toBe(true);
      expect(await writer.failUnfinishedParts(em, s.id)).toBe(0);
    });
  });

  it('a re-sent part updates its etag without a status change; parts beyond totalParts are ignored', async () => {
    const s = await aMultipartSession(3);
    await parts.reconcile(orm.em.fork(), s, stored([1, 2]));
    await parts.reconcile(orm.em.fork(), s, [...stored([1], 'again'), ...stored([2, 7])]);
    expect((await rows(s.id)).map((r) => [r.partNumber, r.status, r.etag])).toEqual([
      [1, PartStatus.UPLOADED, 'again1'],
      [2, PartStatus.UPLOADED, 'e2'],
      [3, PartStatus.PENDING, null],
    ]);
    expect((await orm.em.fork().findOneOrFail(UploadSession, s.id)).completedParts).toBe(2);
  });

  it('abort racing a completion: exactly one wins; abort fails only the unfinished parts', async () => {
    const s = await aMultipartSession(3);
    await parts.reconcile(orm.em.fork(), s, stored([1]));
    await writer.markPartsUploading(orm.em.fork(), s.id, [2]);
    let partsFailed: number | null = null;
    const [aborted, uploaded] = await race<boolean>([
      () =>
        orm.em.fork().transactional(async (em) => {
          if (!(await writer.markAborted(em, s.id, 'gone'))) return false;
          partsFailed = await writer.failUnfinishedParts(em, s.id);
          return true;
        }),
      () => orm.em.fork().transactional((em) => writer.markUploaded(em, s.id, { etag: 'x' })),
    ]);
    expect([aborted, uploaded].filter(Boolean)).toHaveLength(1);
    const after = await orm.em.fork().findOneOrFail(UploadSession, s.id);
    const statuses = (await rows(s.id)).map((r) => r.status);
    if (aborted) {
      expect(after).toMatchObject({ status: FileStatus.FAILED, error: 'ABORTED' });
      expect(statuses).toEqual([PartStatus.UPLOADED, PartStatus.FAILED, PartStatus.FAILED]);
      // The two unfinished parts (UPLOADING 2, PENDING 3), not the uploaded one.
      expect(partsFailed).toBe(2);
    } else {
      expect(partsFailed).toBeNull();
      expect(after.status).toBe(FileStatus.UPLOADED);
      expect(statuses).toEqual([PartStatus.UPLOADED, PartStatus.UPLOADING, PartStatus.PENDING]);
    }
  });
});
