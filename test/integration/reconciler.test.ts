import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { ormConfig } from '@app/database';
import {
  ApplyStorageEventUseCase,
  buildObjectKey,
  ObjectStorage,
  ReconcileJobsUseCase,
  Reconciler,
  ReconcileUploadsUseCase,
  StoredObject,
  UploadSession,
} from '@app/domain';
import { domainServices } from '../support/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const env = testEnv();
const SETTINGS = { batchSize: 50, graceMs: 60_000, stalePendingMs: 600_000 };

/** A store that answers HEAD as each test says, and records what the reconciler removes. */
class ScriptedStore {
  /** Its own bucket per test: the pass looks only at sessions of its store's bucket, so only at this test's. */
  readonly bucket = `reconciler-${randomUUID().slice(0, 8)}`;
  readonly deleted: string[] = [];
  readonly aborted: string[] = [];
  constructor(private readonly answer: (key: string) => Promise<StoredObject | null>) {}
  head(key: string): Promise<StoredObject | null> {
    return this.answer(key);
  }
  async delete(key: string): Promise<void> {
    this.deleted.push(key);
  }
  async abortMultipartUpload(key: string): Promise<void> {
    this.aborted.push(key);
  }
}

/**
 * A reconciliation pass against the real Postgres with a scripted store: each session is settled in its own
 * transaction (a HEAD that throws costs only its session).
 */
describe('Reconciler (Postgres)', () => {
  let orm: MikroORM;
  let services: ReturnType<typeof domainServices>;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(env.DATABASE_URL, { poolMax: 8 }));
    services = domainServices(orm);
  });
  afterAll(() => orm?.close(true));

  function reconcilerOn(store: ScriptedStore): { reconciler: Reconciler; apply: ApplyStorageEventUseCase } {
    const storage = store as unknown as ObjectStorage;
    const apply = new ApplyStorageEventUseCase(services.db, services.lifecycle, services.outbox, services.progress, services.endings, storage);
    const uploads = new ReconcileUploadsUseCase(services.db, services.lifecycle, services.endings, apply, storage);
    // Jobs are not this test's: a step that finds nothing.
    const jobs = { name: 'jobs', run: async () => ({}) } as unknown as ReconcileJobsUseCase;
    return { reconciler: new Reconciler(services.db, jobs, uploads), apply };
  }

  /** Sessions still waiting for their bytes (UPLOADING, multipart), expired in the order given. */
  async function expiredSessions(store: ScriptedStore, n: number): Promise<UploadSession[]> {
    const sessions = Array.from({ length: n }, (_, i) => {
      const id = randomUUID();
      const s = new UploadSession({
        id,
        bucket: store.bucket,
        objectKey: buildObjectKey(id, `f${i}.txt`),
        filename: `f${i}.txt`,
        contentType: 'text/plain',
        size: 3,
        expiresAt: new Date(Date.now() - 60_000 + i * 1_000),
        jobPlan: [],
      });
      s.status = FileStatus.UPLOADING;
      s.uploadId = `mp-${id}`;
      return s;
    });
    await orm.em.fork().persistAndFlush(sessions);
    return sessions;
  }

  const statusOf = async (id: string) =>
    (await services.db.query<{ status: FileStatus; error: string | null }>(`select status, error from upload_session where id = $1`, [id]))[0];

  it('a HEAD that throws on the second session costs only that one: the first expiry and the third advance commit', async () => {
    let expiredKey = '';
    let failingKey = '';
    const store = new ScriptedStore(async (key) => {
      if (key === failingKey) throw new Error('store timed out');
      if (key === expiredKey) return null;
      return { size: 3, etag: 'abc', contentType: 'text/plain' };
    });
    const [first, second, third] = await expiredSessions(store, 3);
    expiredKey = first.objectKey;
    failingKey = second.objectKey;
    const { reconciler } = reconcilerOn(store);

    const pass = await reconciler.runOnce(SETTINGS);

    expect(pass).toEqual({ figures: expect.objectContaining({ checked: 3, expired: 1, advanced: 1 }), errors: { uploads: 1 } });
    expect(await statusOf(first.id)).toEqual({ status: FileStatus.FAILED, error: 'EXPIRED' });
    expect(await statusOf(second.id)).toEqual({ status: FileStatus.UPLOADING, error: null });
    expect(await statusOf(third.id)).toEqual({ status: FileStatus.UPLOADED, error: null });
    // What the store was told matches what committed: only the expired session's upload and object were removed.
    expect(store.aborted).toEqual([first.objectKey]);
    expect(store.deleted).toEqual([first.objectKey]);
    // Its events are in the outbox (one transaction each: the change and its messages).
    const events = await services.db.query<{ routing_key: string; session: string }>(
      `select routing_key, payload->'data'->>'sessionId' as session from outbox_message where payload->'data'->>'sessionId' = any($1::text[]) order by id`,
      [[first.id, second.id, third.id]],
    );
    expect(events).toEqual(
      expect.arrayContaining([
        { routing_key: expect.stringContaining('failed'), session: first.id },
        { routing_key: expect.stringContaining('uploaded'), session: third.id },
      ]),
    );
    expect(events.some((e) => e.session === second.id)).toBe(false);
  });

  it('one replica at a time: a pass started while another holds the lock does nothing', async () => {
    const store = new ScriptedStore(async () => null);
    const { reconciler } = reconcilerOn(store);
    let inner: unknown = 'not run';
    const outer = await services.db.withSessionLock(0x75706c64, async () => {
      inner = await reconciler.runOnce(SETTINGS);
      return 'held';
    });
    expect(outer).toBe('held');
    expect(inner).toBeNull();
    // Released with its connection: the next pass runs.
    expect(await reconciler.runOnce(SETTINGS)).not.toBeNull();
  });
});
