import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { ormConfig } from '@app/database';
import {
  Actor,
  ApplyStorageEventUseCase,
  buildObjectKey,
  CompleteUploadUseCase,
  DomainError,
  DomainErrorCode,
  MultipartParts,
  SignUploadPartsUseCase,
  UploadPolicy,
  ObjectStorage,
  ReconcileJobsUseCase,
  Reconciler,
  ReconcileUploadsUseCase,
  StorageEventRepository,
  StoredObject,
  UploadCompletionsRepository,
  UploadSession,
  UploadSessionRepository,
  StorageQuota,
} from '@app/domain';
import { domainServices } from '../support/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const env = testEnv();
const SETTINGS = { batchSize: 50, graceMs: 60_000, stalePendingMs: 600_000, failedObjectRetentionMs: 0, dedupeRetentionMs: 7 * 86_400_000 };

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
 * transaction (a HEAD that throws costs only its session), and expiry never fails a session whose object
 * arrived while the store was being asked.
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
    const apply = new ApplyStorageEventUseCase(
      new StorageEventRepository(services.db, services.lifecycle, services.outbox, services.progress, services.endings),
      storage,
    );
    const uploads = new ReconcileUploadsUseCase(services.db, services.lifecycle, services.endings, apply, storage);
    // Jobs are not this test's: a step that finds nothing.
    const jobs = { name: 'jobs', run: async () => ({}) } as unknown as ReconcileJobsUseCase;
    // Nor are the clean-up steps (their own tests: lifecycle-cleanup, prune-dedupe).
    const none = { execute: async () => ({}) } as never;
    return { reconciler: new Reconciler(services.db, jobs, uploads, none, none, none), apply };
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

  it('a session completed while its HEAD was answered (404) stays UPLOADED with its object: expiry only fails waiting sessions', async () => {
    let apply!: ApplyStorageEventUseCase;
    // The client's complete lands between the store's answer and the reconciler's decision.
    const store = new ScriptedStore(async (key) => {
      await apply.execute({
        kind: 'created',
        eventName: 'ObjectCreated:ConfirmedByGateway',
        source: 'api',
        bucket: store.bucket,
        key,
        size: 3,
        etag: 'abc',
        sequencer: null,
        eventId: `api:${key}`,
        eventTime: null,
      });
      return null;
    });
    const [session] = await expiredSessions(store, 1);
    const wired = reconcilerOn(store);
    apply = wired.apply;

    const pass = await wired.reconciler.runOnce(SETTINGS);

    expect(pass?.figures).toMatchObject({ checked: 1, expired: 0 });
    expect(await statusOf(session.id)).toEqual({ status: FileStatus.UPLOADED, error: null });
    expect(store.deleted).toEqual([]);
    expect(store.aborted).toEqual([]);
  });

  it('a second created event disagreeing on size leaves an UPLOADED session and its object alone', async () => {
    const store = new ScriptedStore(async () => null);
    const [session] = await expiredSessions(store, 1);
    const { apply } = reconcilerOn(store);
    const created = {
      kind: 'created' as const,
      eventName: 'ObjectCreated:Put',
      source: 'ceph' as const,
      bucket: store.bucket,
      key: session.objectKey,
      etag: 'abc',
      sequencer: null,
      eventTime: null,
    };

    expect(await apply.execute({ ...created, size: 3, eventId: `a-${session.id}` })).toBe('uploaded');
    expect(await apply.execute({ ...created, size: 5, eventId: `b-${session.id}` })).toBe('already-applied');

    expect(await statusOf(session.id)).toEqual({ status: FileStatus.UPLOADED, error: null });
    expect(store.deleted).toEqual([]);
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

/**
 * The gateway's side of expiry: past `expiresAt` a multipart upload takes no more part URLs and is not completed
 * (410 UPLOAD_EXPIRED naming the session), unless the store already holds its object.
 */
describe('sign and complete after expiresAt (Postgres)', () => {
  let orm: MikroORM;
  let services: ReturnType<typeof domainServices>;
  const ADMIN: Actor = { userId: null, isAdmin: true, uploadToken: null };
  const policy = { presignedUrlTtlSeconds: 900, maxFileSize: 1024 ** 3 } as UploadPolicy;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(env.DATABASE_URL, { poolMax: 4 }));
    services = domainServices(orm);
  });
  afterAll(() => orm?.close(true));

  /** A store that holds the object (or not), and fails the test if asked to sign or complete. */
  function storeHolding(object: StoredObject | null) {
    const calls: string[] = [];
    const storage = {
      bucket: 'uploads-expiry',
      head: async () => object,
      presignUploadPart: async () => {
        calls.push('presignUploadPart');
        return { url: 'http://x', method: 'PUT', headers: {}, expiresAt: new Date() };
      },
      listParts: async () => {
        calls.push('listParts');
        return [];
      },
      completeMultipartUpload: async () => {
        calls.push('completeMultipartUpload');
        return null;
      },
    } as unknown as ObjectStorage;
    return { storage, calls };
  }

  async function expiredMultipart(): Promise<UploadSession> {
    const id = randomUUID();
    const s = new UploadSession({
      id,
      bucket: 'uploads-expiry',
      objectKey: buildObjectKey(id, 'big.bin'),
      filename: 'big.bin',
      contentType: 'application/octet-stream',
      size: 3,
      expiresAt: new Date(Date.now() - 1_000),
      jobPlan: [],
    });
    s.status = FileStatus.UPLOADING;
    s.uploadId = `mp-${id}`;
    s.totalParts = 1;
    await orm.em.fork().persistAndFlush(s);
    return s;
  }

  function useCases(storage: ObjectStorage) {
    const em = orm.em.fork();
    // The repository refuses sessions created through the unit of work on its event manager, as these fixtures are: its own.
    const sessions = new UploadSessionRepository(services.db, new StorageQuota(policy), orm.em.fork({ freshEventManager: true }));
    const apply = new ApplyStorageEventUseCase(
      new StorageEventRepository(services.db, services.lifecycle, services.outbox, services.progress, services.endings),
      storage,
    );
    return {
      sign: new SignUploadPartsUseCase(em, services.lifecycle, storage, policy),
      complete: new CompleteUploadUseCase(new UploadCompletionsRepository(em, new MultipartParts(services.lifecycle), apply, sessions), storage, policy),
    };
  }

  it('signing parts is a 410 UPLOAD_EXPIRED naming the session; nothing is signed', async () => {
    const s = await expiredMultipart();
    const { storage, calls } = storeHolding(null);
    const refusal = await useCases(storage)
      .sign.execute(ADMIN, { id: s.id }, { partNumbers: [1] })
      .catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: DomainErrorCode.UPLOAD_EXPIRED, message: expect.stringContaining(s.id) });
    expect(calls).toEqual([]);
  });

  it('completing is a 410 while the store holds no object; nothing is completed, the session still waits (for the reconciler)', async () => {
    const s = await expiredMultipart();
    const { storage, calls } = storeHolding(null);
    await expect(useCases(storage).complete.execute(ADMIN, { id: s.id }, {})).rejects.toMatchObject({ code: DomainErrorCode.UPLOAD_EXPIRED });
    expect(calls).toEqual([]);
    expect((await services.db.query(`select status from upload_session where id = $1`, [s.id]))[0]).toEqual({ status: FileStatus.UPLOADING });
  });

  it('completing takes an object the store already assembled: UPLOADED', async () => {
    const s = await expiredMultipart();
    const { storage, calls } = storeHolding({ size: 3, etag: 'abc', contentType: 'application/octet-stream' });
    expect(await useCases(storage).complete.execute(ADMIN, { id: s.id }, {})).toMatchObject({ status: FileStatus.UPLOADED });
    expect(calls).toEqual([]);
  });
});
