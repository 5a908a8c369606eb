import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { ormConfig } from '@app/database';
import {
  ApplyStorageEventUseCase,
  buildObjectKey,
  ObjectStorage,
  PruneDedupeUseCase,
  StorageEventRepository,
  StorageObjectEvent,
  UploadSession,
} from '@app/domain';
import { domainServices } from '../support/domain';
import { testEnv } from '../support/test-env';

const WEEK_MS = 7 * 86_400_000;

/**
 * The notification dedupe table against the real Postgres: rows past the retention are pruned in batches,
 * the rest stay, and a notification replayed inside the retention is still recognised.
 */
describe('PruneDedupeUseCase (Postgres)', () => {
  let orm: MikroORM;
  let prune: PruneDedupeUseCase;
  let apply: ApplyStorageEventUseCase;
  const BUCKET = 'prune-test';

  beforeAll(async () => {
    orm = await MikroORM.init({ ...ormConfig(testEnv().DATABASE_URL, { poolMax: 4 }), allowGlobalContext: true });
    const s = domainServices(orm);
    // The store is never asked for a creation that carries its size; nothing is deleted for a live session.
    const storage = { bucket: BUCKET, head: async () => null, delete: async () => undefined } as unknown as ObjectStorage;
    apply = new ApplyStorageEventUseCase(new StorageEventRepository(s.db, s.lifecycle, s.outbox, s.progress, s.endings), storage);
    prune = new PruneDedupeUseCase(s.db);
  });
  afterAll(() => orm?.close(true));

  const count = async (sql: string, params: unknown[]) => Number((await orm.em.fork().execute(sql, params))[0].n);

  it('deletes identities older than the retention (oldest first, in batches), keeps the recent ones; a replay inside the window is still a duplicate', async () => {
    const tag = randomUUID();
    // 2,500 applied long ago (past the retention) and 10 recent ones.
    await orm.em.fork().execute(
      `insert into processed_storage_event (identity, processed_at)
       select ?::text || ':old:' || g, now() - interval '8 days' - g * interval '1 second' from generate_series(1, 2500) g
       union all select ?::text || ':recent:' || g, now() - interval '1 day' from generate_series(1, 10) g`,
      [tag, tag],
    );

    // A real notification applied now, then replayed.
    const id = randomUUID();
    const session = new UploadSession({
      id,
      bucket: BUCKET,
      objectKey: buildObjectKey(id, 'a.txt'),
      filename: 'a.txt',
      contentType: 'text/plain',
      size: 3,
      expiresAt: new Date(Date.now() + 60_000),
      jobPlan: [],
    });
    await orm.em.fork().persistAndFlush(session);
    const event: StorageObjectEvent = {
      kind: 'created',
      eventName: 'ObjectCreated:Put',
      source: 'ceph',
      bucket: BUCKET,
      key: session.objectKey,
      size: 3,
      etag: '"e"',
      sequencer: `seq-${tag}`,
      eventId: null,
      eventTime: null,
    };
    expect(await apply.execute(event)).toBe('uploaded');
    expect(await apply.execute(event)).toBe('duplicate');

    const figures = await prune.execute({ dedupeRetentionMs: WEEK_MS }, 1000);
    expect(figures.dedupePruned).toBeGreaterThanOrEqual(2500);
    expect(await count(`select count(*) as n from processed_storage_event where identity like ?`, [`${tag}:old:%`])).toBe(0);
    expect(await count(`select count(*) as n from processed_storage_event where identity like ?`, [`${tag}:recent:%`])).toBe(10);
    expect(await count(`select count(*) as n from processed_storage_event where processed_at < now() - interval '7 days'`, [])).toBe(0);

    // Inside the window: the replay still finds its identity and changes nothing.
    expect(await apply.execute(event)).toBe('duplicate');
    const after = await orm.em.fork().findOneOrFail(UploadSession, id);
    expect(after.status).toBe(FileStatus.UPLOADED);
    // A second pass has nothing left to do.
    expect((await prune.execute({ dedupeRetentionMs: WEEK_MS })).dedupePruned).toBe(0);
  });

  it('finds its batch through the processed_at index, not by reading the table', async () => {
    const em = orm.em.fork();
    await em.execute('analyze processed_storage_event');
    const plan: { 'QUERY PLAN': string }[] = await em.execute(
      `explain select identity from processed_storage_event where processed_at < now() - interval '7 days' order by processed_at limit 1000`,
    );
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toMatch(/Index (Only )?Scan (using|on) processed_storage_event_processed_at_index/);
    expect(text).not.toMatch(/Seq Scan/);
  });
});
