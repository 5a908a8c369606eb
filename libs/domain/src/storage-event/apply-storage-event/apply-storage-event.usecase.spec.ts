import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DomainEventType, FileStatus, JobStatus, JobType } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import type { StoredObjectFacts } from '../../lifecycle/lifecycle-writer';
import type { JobRecord, SessionRecord } from '../../lifecycle/records';
import { canTransition, FILE_STATUS_TRANSITIONS } from '../../lifecycle/transitions';
import type { ObjectStorage, StoredObject } from '../../ports/object-storage.port';
import { buildObjectKey } from '../../upload/object-key';
import type { OpenedRound, StorageEventRound, StorageEventStore } from '../storage-event-store.port';
import type { StorageObjectEvent } from '../storage-object-event';
import { ApplyStorageEventUseCase, OBJECT_REPLACED, StorageEventOutcome } from './apply-storage-event.usecase';

const BUCKET = 'uploads';

/**
 * The intake's books in memory, with the guarantees of StorageEventRepository: identities recorded once,
 * status writes as compare-and-set through FILE_STATUS_TRANSITIONS, a round all or nothing, and the messages a
 * round causes (in `messages`) kept only once it commits.
 */
class InMemoryStorageEvents implements StorageEventStore {
  sessions = new Map<string, SessionRecord>();
  identities = new Set<string>();
  /** Committed messages: `session.uploaded <id>`, `run VALIDATION <session id>`, … */
  messages: string[] = [];
  rounds = 0;

  async round<T>(work: (round: StorageEventRound) => Promise<T>): Promise<T> {
    const sessions = new Map([...this.sessions].map(([id, s]) => [id, { ...s }]));
    const identities = new Set(this.identities);
    const out: string[] = [];
    const move = (ids: string[], to: FileStatus, from: FileStatus[], change: (s: SessionRecord) => boolean = () => true): SessionRecord[] =>
      ids.flatMap((id) => {
        const s = sessions.get(id);
        if (!s || !from.includes(s.status) || !canTransition(FILE_STATUS_TRANSITIONS, s.status, to) || !change(s)) return [];
        s.status = to;
        return [{ ...s }];
      });
    const round: StorageEventRound = {
      open: async (ids, keys, sessionIds): Promise<OpenedRound> => {
        const fresh = new Set(ids.filter((i) => !identities.has(i)));
        for (const i of fresh) identities.add(i);
        return { fresh, sessions: [...sessions.values()].filter((s) => keys.includes(s.objectKey) || sessionIds.includes(s.id)).map((s) => ({ ...s })) };
      },
      forget: async (ids) => ids.forEach((i) => identities.delete(i)),
      markUploaded: async (objects: StoredObjectFacts[]) => {
        const moved: SessionRecord[] = [];
        const jobs: JobRecord[] = [];
        for (const o of objects) {
          const s = [...sessions.values()].find((x) => x.objectKey === o.objectKey && x.bucket === o.bucket);
          if (!s || !(s.size === o.size || (s.size === null && o.size > 0))) continue;
          const [m] = move([s.id], FileStatus.UPLOADED, [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING], (x) => ((x.etag = o.etag), (x.size = o.size), true));
          if (!m) continue;
          moved.push(m);
          jobs.push(aJob(m.id, JobType.VALIDATION));
          out.push(`run ${JobType.VALIDATION} ${m.id}`, `${DomainEventType.SessionUploaded} ${m.id}`);
        }
        return { sessions: moved, jobs };
      },
      fail: async (failures, from) => {
        const failed = failures.flatMap((f) => move([f.id], FileStatus.FAILED, from, (s) => ((s.error = f.error), (s.errorMessage = f.errorMessage), true)));
        out.push(...failed.map((s) => `${DomainEventType.SessionFailed} ${s.id}`));
        return failed;
      },
      markDeleted: async (ids, from) => {
        const deleted = move(ids, FileStatus.DELETED, from);
        out.push(...deleted.map((s) => `${DomainEventType.SessionDeleted} ${s.id}`));
        return deleted;
      },
      markReplaced: async (replaced) =>
        replaced.flatMap((r) => {
          const s = sessions.get(r.id);
          if (!s || s.etag !== r.etag) return [];
          const to = s.status === FileStatus.COMPLETED ? FileStatus.DELETED : FileStatus.FAILED;
          const ended = move(
            [r.id],
            to,
            [FileStatus.UPLOADED, FileStatus.PROCESSING, FileStatus.COMPLETED],
            (x) => ((x.error = OBJECT_REPLACED), (x.errorMessage = r.errorMessage), true),
          );
          out.push(...ended.map((e) => `${to === FileStatus.FAILED ? DomainEventType.SessionFailed : DomainEventType.SessionDeleted} ${e.id}`));
          return ended;
        }),
    };
    const result = await work(round);
    // Committed: the round's writes and messages, together.
    this.sessions = sessions;
    this.identities = identities;
    this.messages.push(...out);
    this.rounds++;
    return result;
  }

  add(props: Partial<SessionRecord> = {}): SessionRecord {
    const id = props.id ?? randomUUID();
    const s: SessionRecord = {
      id,
      groupId: null,
      userId: 'alice',
      bucket: BUCKET,
      objectKey: buildObjectKey(id, 'photo.jpg'),
      uploadId: null,
      status: FileStatus.PENDING_UPLOAD,
      filename: 'photo.jpg',
      contentType: 'image/jpeg',
      size: 4096,
      checksumSha256: null,
      etag: null,
      error: null,
      errorMessage: null,
      ...props,
    };
    this.sessions.set(id, s);
    return s;
  }

  status(s: SessionRecord): FileStatus {
    return this.sessions.get(s.id)!.status;
  }
}

function aJob(sessionId: string, type: JobType): JobRecord {
  return {
    id: randomUUID(),
    sessionId,
    type,
    status: JobStatus.PENDING,
    priority: 5,
    required: true,
    config: {},
    result: null,
    error: null,
    attempts: 0,
    maxAttempts: 3,
    lockedUntil: null,
    runAfter: null,
  } as JobRecord;
}

/** The store: what HEAD answers, and what was deleted. */
class InMemoryObjects {
  readonly objects = new Map<string, StoredObject>();
  readonly deleted: string[] = [];
  heads = 0;
  put(key: string, size: number, etag: string): void {
    this.objects.set(key, { size, etag, contentType: null });
  }
  async head(key: string): Promise<StoredObject | null> {
    this.heads++;
    return this.objects.get(key) ?? null;
  }
  async delete(key: string): Promise<void> {
    this.deleted.push(key);
    this.objects.delete(key);
  }
}

function created(s: Pick<SessionRecord, 'objectKey'>, props: Partial<StorageObjectEvent> = {}): StorageObjectEvent {
  return {
    kind: 'created',
    eventName: 'ObjectCreated:Put',
    source: 'ceph',
    bucket: BUCKET,
    key: s.objectKey,
    size: 4096,
    etag: 'e1',
    sequencer: randomUUID(),
    eventId: null,
    eventTime: null,
    ...props,
  };
}
function removed(s: Pick<SessionRecord, 'objectKey'>, props: Partial<StorageObjectEvent> = {}): StorageObjectEvent {
  return created(s, { kind: 'removed', eventName: 'ObjectRemoved:Delete', size: null, etag: null, ...props });
}

describe('ApplyStorageEventUseCase', () => {
  let books: InMemoryStorageEvents;
  let store: InMemoryObjects;
  let useCase: ApplyStorageEventUseCase;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    books = new InMemoryStorageEvents();
    store = new InMemoryObjects();
    useCase = new ApplyStorageEventUseCase(books, store as unknown as ObjectStorage);
  });
  const apply = (...events: StorageObjectEvent[]): Promise<StorageEventOutcome[]> => useCase.applyBatch(events);

  it('uploaded: a waiting session whose object arrived with its size is UPLOADED under its ETag, with its jobs and its event', async () => {
    const s = books.add({ status: FileStatus.UPLOADING });
    expect(await apply(created(s))).toEqual(['uploaded']);
    expect(books.sessions.get(s.id)).toMatchObject({ status: FileStatus.UPLOADED, etag: 'e1' });
    expect(books.messages).toEqual([`run VALIDATION ${s.id}`, `session.uploaded ${s.id}`]);
    expect(store.heads).toBe(0);
  });

  it('applies a batch of distinct objects in one round (one transaction)', async () => {
    const sessions = [books.add(), books.add(), books.add()];
    expect(await apply(...sessions.map((s) => created(s)))).toEqual(['uploaded', 'uploaded', 'uploaded']);
    expect(books.rounds).toBe(1);
  });

  it('uploaded: a session without a declared size takes the stored one; an event without size or ETag asks the store', async () => {
    const s = books.add({ size: null });
    store.put(s.objectKey, 123, 'from-head');
    expect(await apply(created(s, { size: null, etag: null }))).toEqual(['uploaded']);
    expect(books.sessions.get(s.id)).toMatchObject({ status: FileStatus.UPLOADED, size: 123, etag: 'from-head' });
  });

  it('duplicate: a replayed notification changes nothing and sends nothing', async () => {
    const s = books.add();
    const e = created(s);
    await apply(e);
    expect(await apply(e)).toEqual(['duplicate']);
    expect(books.messages).toHaveLength(2);
  });

  it('duplicate: a replayed creation for an ended session deletes its object again (the first delivery may have died before)', async () => {
    const s = books.add();
    const e = created(s);
    books.identities.add(JSON.stringify([e.bucket, e.key, e.kind, e.etag, e.sequencer]));
    books.sessions.get(s.id)!.status = FileStatus.FAILED;
    expect(await apply(e)).toEqual(['duplicate']);
    expect(store.deleted).toEqual([s.objectKey]);
  });

  it('size-mismatch: another size than declared fails the waiting session, deletes the object and tells', async () => {
    const s = books.add({ size: 10 });
    expect(await apply(created(s, { size: 5 }))).toEqual(['size-mismatch']);
    expect(books.sessions.get(s.id)).toMatchObject({ status: FileStatus.FAILED, error: 'SIZE_MISMATCH', errorMessage: 'stored 5 bytes, declared 10' });
    expect(books.messages).toEqual([`session.failed ${s.id}`]);
    expect(store.deleted).toEqual([s.objectKey]);
  });

  it('size-mismatch of an empty object for a session without a declared size', async () => {
    const s = books.add({ size: null });
    expect(await apply(created(s, { size: 0 }))).toEqual(['size-mismatch']);
    expect(books.status(s)).toBe(FileStatus.FAILED);
  });

  it('already-applied: the same bytes announced again (another sequencer) for a stored session change nothing', async () => {
    const s = books.add({ status: FileStatus.PROCESSING, etag: 'e1' });
    expect(await apply(created(s))).toEqual(['already-applied']);
    expect(books.status(s)).toBe(FileStatus.PROCESSING);
    expect(books.messages).toEqual([]);
  });

  it('replaced: other bytes under a stored key fail the session (OBJECT_REPLACED) and remove the object', async () => {
    const s = books.add({ status: FileStatus.UPLOADED, etag: 'e1' });
    store.put(s.objectKey, 4096, 'e2');
    expect(await apply(created(s, { etag: 'e2' }))).toEqual(['replaced']);
    expect(books.sessions.get(s.id)).toMatchObject({ status: FileStatus.FAILED, error: OBJECT_REPLACED });
    expect(books.messages).toEqual([`session.failed ${s.id}`]);
    expect(store.deleted).toEqual([s.objectKey]);
  });

  it('replaced: a COMPLETED session whose object was replaced is DELETED', async () => {
    const s = books.add({ status: FileStatus.COMPLETED, etag: 'e1' });
    store.put(s.objectKey, 4096, 'e2');
    expect(await apply(created(s, { etag: 'e2' }))).toEqual(['replaced']);
    expect(books.status(s)).toBe(FileStatus.DELETED);
    expect(books.messages).toEqual([`session.deleted ${s.id}`]);
  });

  it('another ETag for the validated bytes (the store spells it otherwise) is already-applied once the store is asked; a replay is then a duplicate', async () => {
    const s = books.add({ status: FileStatus.UPLOADED, etag: 'e1' });
    store.put(s.objectKey, 4096, 'e1');
    const e = created(s, { etag: 'e1-1' });
    expect(await apply(e)).toEqual(['already-applied']);
    expect(store.heads).toBe(1);
    expect(books.status(s)).toBe(FileStatus.UPLOADED);
    expect(await apply(e)).toEqual(['duplicate']);
  });

  it('late-object-removed: an object arriving for an ended session is removed from the store', async () => {
    const s = books.add({ status: FileStatus.FAILED });
    expect(await apply(created(s))).toEqual(['late-object-removed']);
    expect(store.deleted).toEqual([s.objectKey]);
    expect(books.status(s)).toBe(FileStatus.FAILED);
  });

  it('deleted: a stored object removed moves its session to DELETED and tells', async () => {
    const s = books.add({ status: FileStatus.COMPLETED, etag: 'e1' });
    expect(await apply(removed(s))).toEqual(['deleted']);
    expect(books.status(s)).toBe(FileStatus.DELETED);
    expect(books.messages).toEqual([`session.deleted ${s.id}`]);
  });

  it('stale-removal: a removal while an object is there again changes nothing', async () => {
    const s = books.add({ status: FileStatus.UPLOADED, etag: 'e1' });
    store.put(s.objectKey, 4096, 'e1');
    expect(await apply(removed(s))).toEqual(['stale-removal']);
    expect(books.status(s)).toBe(FileStatus.UPLOADED);
  });

  it('ignored: removals of objects no stored session holds, and thumbnails', async () => {
    const waiting = books.add();
    expect(await apply(removed(waiting), removed({ objectKey: 'uploads/unknown.bin' }), created({ objectKey: 'thumbnails/x.jpg' }))).toEqual([
      'ignored',
      'ignored',
      'ignored',
    ]);
    expect(books.status(waiting)).toBe(FileStatus.PENDING_UPLOAD);
  });

  it('unknown-object: a creation no session knows (or in another bucket); execute makes it an UNKNOWN_OBJECT error', async () => {
    const s = books.add();
    expect(await apply(created({ objectKey: buildObjectKey(randomUUID(), 'x') }), created(s, { bucket: 'other' }))).toEqual([
      'unknown-object',
      'unknown-object',
    ]);
    const error = await useCase.execute(created({ objectKey: 'uploads/nobody' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe(DomainErrorCode.UNKNOWN_OBJECT);
  });

  it('finds the session of a key the store mangled by the session id it starts with', async () => {
    const s = books.add();
    expect(await apply(created({ objectKey: `uploads/${s.id}/photo%20(1).jpg` }))).toEqual(['uploaded']);
  });

  it('absent-copy: a copy announced for an object the store does not hold changes nothing; a copy that is there is believed', async () => {
    const s = books.add();
    expect(await apply(created(s, { eventName: 'ObjectCreated:Copy' }))).toEqual(['absent-copy']);
    expect(books.status(s)).toBe(FileStatus.PENDING_UPLOAD);
    store.put(s.objectKey, 4096, 'e1');
    expect(await apply(created(s, { eventName: 's3:ObjectCreated:Copy' }))).toEqual(['uploaded']);
    expect(books.status(s)).toBe(FileStatus.UPLOADED);
  });

  it('applies a creation and the removal of the same key in one batch in their order (two rounds)', async () => {
    const s = books.add();
    expect(await apply(created(s), removed(s))).toEqual(['uploaded', 'deleted']);
    expect(books.rounds).toBe(2);
    expect(books.messages).toEqual([`run VALIDATION ${s.id}`, `session.uploaded ${s.id}`, `session.deleted ${s.id}`]);
  });

  it('a round that fails leaves nothing behind: its identities stay unrecorded, so the redelivery applies', async () => {
    const s = books.add();
    const e = created(s);
    const failing = new ApplyStorageEventUseCase(
      { round: (work) => books.round(async (r) => work({ ...r, markUploaded: async () => Promise.reject(new Error('connection lost')) })) },
      store as unknown as ObjectStorage,
    );
    await expect(failing.applyBatch([e])).rejects.toThrow('connection lost');
    expect(books.identities.size).toBe(0);
    expect(await apply(e)).toEqual(['uploaded']);
  });
});
