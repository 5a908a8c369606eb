import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { DomainEventType, FileStatus, GroupStatus } from '@app/contracts';
import { ormConfig } from '@app/database';
import {
  Actor,
  buildObjectKey,
  CancelUploadGroupUseCase,
  DomainError,
  GroupProgress,
  LifecycleWriter,
  takeGroupSlot,
  SessionEndings,
  UnitOfWork,
  UploadGroup,
  UploadSession,
} from '@app/domain';
import { S3ObjectStorage } from '@app/storage';
import { domainServices, QUIET_RELAY } from '../support/domain';
import { testEnv, testS3Settings } from '../support/test-env';

jest.setTimeout(60_000);

const ADMIN: Actor = { userId: null, isAdmin: true, uploadToken: null };
const env = testEnv();

/**
 * GroupProgress against real Postgres: many transactions finish sessions of one group at once, each
 * session's end delivered several times (as replays and duplicate consumers do). The counters must be
 * exact and the group's final event written exactly once.
 */
describe('group progress under concurrency (integration)', () => {
  let orm: MikroORM;
  let lifecycle: LifecycleWriter;
  let progress: GroupProgress;
  let endings: SessionEndings;
  const relay = QUIET_RELAY;

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(env.DATABASE_URL, { poolMax: 24 }));
    ({ lifecycle, progress, endings } = domainServices(orm));
  });
  afterAll(async () => {
    await orm?.close(true);
  });

  /** A group of n sessions, all PROCESSING (uploaded, jobs running), ready to finish. */
  async function processingGroup(n: number, status: FileStatus = FileStatus.PROCESSING): Promise<{ group: UploadGroup; ids: string[] }> {
    const em = orm.em.fork();
    const group = new UploadGroup({ name: `race ${randomUUID()}`, totalFiles: n, fileCount: n });
    const sessions = Array.from({ length: n }, (_, i) => {
      const id = randomUUID();
      return new UploadSession({
        id,
        bucket: env.S3_BUCKET,
        objectKey: buildObjectKey(id, `f${i}.txt`),
        filename: `f${i}.txt`,
        contentType: 'text/plain',
        size: 10,
        groupId: group.id,
        expiresAt: new Date(Date.now() + 3_600_000),
        jobPlan: [],
      });
    });
    await em.persistAndFlush([group, ...sessions]);
    if (status !== FileStatus.PENDING_UPLOAD) {
      await em.transactional(async (tx) => {
        for (const s of sessions) {
          await lifecycle.markUploaded(tx, s.id, { etag: null });
          if (status === FileStatus.PROCESSING) await lifecycle.markProcessing(tx, s.id);
        }
      });
    }
    return { group, ids: sessions.map((s) => s.id) };
  }

  /** One delivery of "this session's jobs are done": the session's compare-and-set, then its group. */
  function finish(id: string, groupId: string, outcome: 'complete' | 'fail'): Promise<void> {
    return orm.em.fork().transactional(async (em) => {
      const moved = outcome === 'complete' ? await lifecycle.markCompleted(em, id) : await lifecycle.markFailed(em, id, 'VALIDATION_FAILED', 'bad');
      // A careless caller counts even when it lost the race: the per-session marker must absorb it.
      await progress.sessionFinished(em, { id, groupId });
      if (moved) await progress.sessionFinished(em, { id, groupId });
    });
  }

  async function groupEvents(groupId: string): Promise<{ routing_key: string; payload: any }[]> {
    return orm.em
      .fork()
      .getConnection()
      .execute(`select routing_key, payload from outbox_message where routing_key like 'group.%' and payload->'data'->>'groupId' = ?`, [groupId]);
  }

  async function reload(groupId: string): Promise<UploadGroup> {
    return orm.em.fork().findOneOrFail(UploadGroup, groupId);
  }

  /** Runs the tasks in a shuffled order, all at once. */
  function race(tasks: (() => Promise<void>)[]): Promise<void[]> {
    const shuffled = tasks
      .map((t) => ({ t, k: Math.random() }))
      .sort((a, b) => a.k - b.k)
      .map(({ t }) => t);
    return Promise.all(shuffled.map((t) => t()));
  }

  it('every session finished three times over, at once: completedFiles exact, one group.completed', async () => {
    const n = 80;
    const { group, ids } = await processingGroup(n);
    await race(ids.flatMap((id) => [0, 1, 2].map(() => () => finish(id, group.id, 'complete'))));

    const after = await reload(group.id);
    expect(after).toMatchObject({ status: GroupStatus.COMPLETED, completedFiles: n, failedFiles: 0 });
    const events = await groupEvents(group.id);
    expect(events.map((e) => e.routing_key)).toEqual([DomainEventType.GroupCompleted]);
    expect(events[0].payload.data).toMatchObject({ groupId: group.id, status: 'COMPLETED', totalFiles: n, completedFiles: n, failedFiles: 0 });
    expect(new Set(events[0].payload.data.sessions.map((s: { sessionId: string }) => s.sessionId))).toEqual(new Set(ids));
  });

  it('with failures among them: exact counters, one group.failed, never a group.completed', async () => {
    const n = 60;
    const { group, ids } = await processingGroup(n);
    const failing = new Set(ids.slice(0, 7));
    await race(ids.flatMap((id) => [0, 1].map(() => () => finish(id, group.id, failing.has(id) ? 'fail' : 'complete'))));

    expect(await reload(group.id)).toMatchObject({ status: GroupStatus.FAILED, completedFiles: n - 7, failedFiles: 7 });
    expect((await groupEvents(group.id)).map((e) => e.routing_key)).toEqual([DomainEventType.GroupFailed]);
  });

  it('counts nothing for an unfinished session; a session deleted before finishing counts once as failed', async () => {
    const { group, ids } = await processingGroup(2, FileStatus.UPLOADED);
    await orm.em.fork().transactional((em) => progress.sessionFinished(em, { id: ids[0], groupId: group.id }));
    expect(await reload(group.id)).toMatchObject({ completedFiles: 0, failedFiles: 0, status: GroupStatus.PENDING });

    for (let i = 0; i < 3; i++) {
      await orm.em.fork().transactional(async (em) => {
        await lifecycle.markDeleted(em, ids[0]);
        await progress.sessionFinished(em, { id: ids[0], groupId: group.id });
      });
    }
    expect(await reload(group.id)).toMatchObject({ completedFiles: 0, failedFiles: 1 });
  });

  it('a rolled-back finish counts nothing, and its retry counts once', async () => {
    const { group, ids } = await processingGroup(1);
    await expect(
      orm.em.fork().transactional(async (em) => {
        await lifecycle.markCompleted(em, ids[0]);
        await progress.sessionFinished(em, { id: ids[0], groupId: group.id });
        throw new Error('commit failed');
      }),
    ).rejects.toThrow('commit failed');
    expect(await reload(group.id)).toMatchObject({ completedFiles: 0, status: GroupStatus.PENDING });
    expect(await groupEvents(group.id)).toHaveLength(0);

    await finish(ids[0], group.id, 'complete');
    expect(await reload(group.id)).toMatchObject({ completedFiles: 1, status: GroupStatus.COMPLETED });
    expect(await groupEvents(group.id)).toHaveLength(1);
  });

  it('a cancel racing with finishing files: CANCELLED, every file counted once, one group.cancelled and no other group event', async () => {
    const n = 40;
    // One more file than the racers finish, so the cancel always finds the group unfinished.
    const { group, ids } = await processingGroup(n + 1);
    const storage = new S3ObjectStorage(testS3Settings());
    const cancelOnce = async () => {
      const em = orm.em.fork();
      await new CancelUploadGroupUseCase(em, new UnitOfWork(em, relay), lifecycle, progress, endings, storage).execute(ADMIN, group.id);
    };
    await race([...ids.slice(0, n).map((id) => () => finish(id, group.id, 'complete')), cancelOnce, cancelOnce]);

    const after = await reload(group.id);
    expect(after.status).toBe(GroupStatus.CANCELLED);
    expect(after.completedFiles + after.failedFiles).toBe(n + 1);
    expect(after.failedFiles).toBeGreaterThanOrEqual(1);
    const sessions = await orm.em.fork().find(UploadSession, { groupId: group.id });
    expect(sessions.filter((s) => s.status === FileStatus.COMPLETED)).toHaveLength(after.completedFiles);
    expect(sessions.filter((s) => s.status === FileStatus.FAILED && s.error === 'CANCELLED')).toHaveLength(after.failedFiles);
    expect((await groupEvents(group.id)).map((e) => e.routing_key)).toEqual([DomainEventType.GroupCancelled]);
  });

  it('slots: 30 concurrent adds to a group of 10 take exactly 10', async () => {
    const em = orm.em.fork();
    const group = new UploadGroup({ name: 'slots', totalFiles: 10 });
    await em.persistAndFlush(group);
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => orm.em.fork().transactional((tx) => takeGroupSlot(tx, ADMIN, group.id))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(20);
    for (const r of refused) expect(r.reason).toBeInstanceOf(DomainError);
    expect((await reload(group.id)).fileCount).toBe(10);
  });
});
