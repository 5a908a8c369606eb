import { randomUUID } from 'node:crypto';
import { FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor, canAccess } from '../../identity/actor';
import type { ObjectStorage, StoredObject, StoredPart } from '../../ports/object-storage.port';
import { buildObjectKey } from '../object-key';
import type { SessionRef } from '../session-ref';
import type { UploadPolicy } from '../upload-policy';
import { UploadSession } from '../upload-session.entity';
import { CompleteUploadUseCase } from './complete-upload.usecase';
import type { UploadCompletions } from './upload-completions.port';

const MiB = 1024 * 1024;
const ALICE: Actor = { userId: 'alice', isAdmin: false, uploadToken: null };
const BOB: Actor = { userId: 'bob', isAdmin: false, uploadToken: null };
const policy = { maxFileSize: 100 * MiB } as UploadPolicy;

/** Sessions as tests need them: `aSession().multipart(3).build()`. */
class SessionBuilder {
  private readonly s: UploadSession;

  constructor() {
    const id = randomUUID();
    this.s = new UploadSession({
      id,
      bucket: 'b',
      objectKey: buildObjectKey(id, 'f.bin'),
      filename: 'f.bin',
      contentType: 'application/octet-stream',
      size: 10,
      userId: ALICE.userId,
      expiresAt: new Date(Date.now() + 3_600_000),
      jobPlan: [],
    });
  }

  /** A multipart upload in `totalParts` parts of our plan (0: the client chooses its parts, as Uppy does). */
  multipart(totalParts: number, size: number | null = totalParts * 5 * MiB): this {
    this.s.uploadId = `mp-${this.s.id}`;
    this.s.totalParts = totalParts;
    this.s.size = size;
    return this;
  }

  sized(size: number | null): this {
    this.s.size = size;
    return this;
  }

  inStatus(status: FileStatus, error: string | null = null): this {
    this.s.status = status;
    this.s.error = error;
    return this;
  }

  expired(): this {
    this.s.expiresAt = new Date(Date.now() - 1_000);
    return this;
  }

  build(): UploadSession {
    return this.s;
  }
}
const aSession = () => new SessionBuilder();

const part = (partNumber: number, size = 5 * MiB): StoredPart => ({ partNumber, etag: `etag-${partNumber}`, size, lastModified: null });

/** The store, in memory: objects by key, multipart uploads by id with the parts they hold. Only what completing uses. */
class MemoryStore {
  readonly bucket = 'b';
  objects = new Map<string, StoredObject>();
  uploads = new Map<string, { key: string; parts: StoredPart[] }>();
  completedWith: { partNumber: number; etag: string }[] | null = null;
  /** A concurrent call completes the upload between our ListParts and our CompleteMultipartUpload. */
  completedConcurrently = false;

  async head(key: string): Promise<StoredObject | null> {
    return this.objects.get(key) ?? null;
  }

  async listParts(key: string, uploadId: string): Promise<StoredPart[] | null> {
    const u = this.uploads.get(uploadId);
    return u && u.key === key ? [...u.parts] : null;
  }

  async completeMultipartUpload(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<StoredObject | null> {
    const u = this.uploads.get(uploadId);
    if (!u || this.completedConcurrently) {
      if (u) this.assemble(key, uploadId, u.parts);
      return null;
    }
    this.completedWith = parts;
    return this.assemble(
      key,
      uploadId,
      parts.map((p) => u.parts.find((s) => s.partNumber === p.partNumber)!),
    );
  }

  private assemble(key: string, uploadId: string, parts: StoredPart[]): StoredObject {
    this.uploads.delete(uploadId);
    const object = { size: parts.reduce((n, p) => n + p.size, 0), etag: `assembled-${parts.length}`, contentType: 'application/octet-stream' };
    this.objects.set(key, object);
    return object;
  }

  holdsObject(s: UploadSession, size = s.size ?? 1): this {
    this.objects.set(s.objectKey, { size, etag: 'e1', contentType: 'application/octet-stream' });
    return this;
  }

  holdsParts(s: UploadSession, parts: StoredPart[]): this {
    this.uploads.set(s.uploadId!, { key: s.objectKey, parts });
    return this;
  }
}

/** The database side, in memory: sessions, the FilePart reconciliations asked for, and the objects seen. */
class MemoryCompletions implements UploadCompletions {
  sessions = new Map<string, UploadSession>();
  reconciled: { sessionId: string; partNumbers: number[] }[] = [];
  seen: { sessionId: string; object: StoredObject }[] = [];

  add(s: UploadSession): UploadSession {
    this.sessions.set(s.id, s);
    return s;
  }

  async find(actor: Actor, ref: SessionRef): Promise<UploadSession> {
    const s = 'id' in ref ? this.sessions.get(ref.id) : [...this.sessions.values()].find((x) => x.uploadId === ref.uploadId && x.objectKey === ref.key);
    if (!s || !canAccess(actor, s)) throw new DomainError(DomainErrorCode.SESSION_NOT_FOUND, 'not found');
    return s;
  }

  async reconcileParts(session: UploadSession, stored: StoredPart[]): Promise<void> {
    this.reconciled.push({ sessionId: session.id, partNumbers: stored.map((p) => p.partNumber) });
    if (stored.length > 0 && session.status === FileStatus.PENDING_UPLOAD) session.status = FileStatus.UPLOADING;
  }

  async recordPartPlan(sessionId: string, size: number, totalParts: number): Promise<void> {
    Object.assign(this.sessions.get(sessionId)!, { size, totalParts });
  }

  async objectSeen(session: UploadSession, object: StoredObject): Promise<UploadSession> {
    this.seen.push({ sessionId: session.id, object });
    session.status = FileStatus.UPLOADED;
    return session;
  }
}

function world() {
  const store = new MemoryStore();
  const db = new MemoryCompletions();
  const useCase = new CompleteUploadUseCase(db, store as unknown as ObjectStorage, policy);
  const complete = (s: UploadSession, body: unknown = {}, actor: Actor = ALICE) => useCase.execute(actor, { id: s.id }, body);
  const refusal = (s: UploadSession, body: unknown = {}, actor: Actor = ALICE) =>
    complete(s, body, actor).then(
      () => {
        throw new Error('expected a refusal');
      },
      (e: unknown) => {
        if (!(e instanceof DomainError)) throw e;
        return e;
      },
    );
  return { store, db, useCase, complete, refusal };
}

describe('CompleteUploadUseCase (in-memory fakes of the store and the database)', () => {
  describe('whatever the kind of upload', () => {
    it.each([FileStatus.UPLOADED, FileStatus.PROCESSING, FileStatus.COMPLETED])(
      'a session already %s is returned as it is: nothing asked of the store',
      async (status) => {
        const w = world();
        const s = w.db.add(aSession().multipart(2).inStatus(status).build());
        await expect(w.complete(s)).resolves.toMatchObject({ id: s.id, status });
        expect(w.db.seen).toEqual([]);
        expect(w.db.reconciled).toEqual([]);
      },
    );

    it.each([
      [FileStatus.FAILED, 'ABORTED'],
      [FileStatus.DELETED, null],
    ])('a %s session cannot be completed: 409 naming its state', async (status, error) => {
      const w = world();
      const s = w.db.add(aSession().inStatus(status, error).build());
      w.store.holdsObject(s);
      const e = await w.refusal(s);
      expect(e.code).toBe(DomainErrorCode.SESSION_STATE_CONFLICT);
      expect(e.message).toContain(`is ${status}${error ? ` (${error})` : ''}`);
      expect(w.db.seen).toEqual([]);
    });

    it("someone else's session is not found (a 404, never a 403)", async () => {
      const w = world();
      const s = w.db.add(aSession().build());
      w.store.holdsObject(s);
      expect((await w.refusal(s, {}, BOB)).code).toBe(DomainErrorCode.SESSION_NOT_FOUND);
      expect(w.db.seen).toEqual([]);
    });

    it('a malformed body is a 400 naming the field, before anything is read', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).build());
      const e = await w.refusal(s, { parts: [{ partNumber: 0, etag: '' }] });
      expect(e.code).toBe(DomainErrorCode.INVALID_INPUT);
      expect(e.details?.map((d) => d.field)).toEqual(expect.arrayContaining([expect.stringMatching(/^parts\.0\.(partNumber|etag)$|^parts\[0\]/)]));
      expect(w.db.reconciled).toEqual([]);
    });

    it("Uppy's reference (upload id and key) finds the session too", async () => {
      const w = world();
      const s = w.db.add(
        aSession()
          .multipart(1, 5 * MiB)
          .build(),
      );
      w.store.holdsParts(s, [part(1)]);
      await expect(w.useCase.execute(ALICE, { uploadId: s.uploadId!, key: s.objectKey }, {})).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect((await w.useCase.execute(ALICE, { uploadId: s.uploadId!, key: 'uploads/other' }, {}).catch((e: DomainError) => e)) as DomainError).toMatchObject({
        code: DomainErrorCode.SESSION_NOT_FOUND,
      });
    });
  });

  describe('single PUT', () => {
    it('the stored object moves the session as its notification would: UPLOADED, with the size and ETag the store reports', async () => {
      const w = world();
      const s = w.db.add(aSession().sized(10).build());
      w.store.holdsObject(s, 10);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.db.seen).toEqual([{ sessionId: s.id, object: { size: 10, etag: 'e1', contentType: 'application/octet-stream' } }]);
    });

    it('no object yet: 409 OBJECT_NOT_IN_STORAGE, the session untouched', async () => {
      const w = world();
      const s = w.db.add(aSession().build());
      expect((await w.refusal(s)).code).toBe(DomainErrorCode.OBJECT_NOT_IN_STORAGE);
      expect(s.status).toBe(FileStatus.PENDING_UPLOAD);
    });

    it('expired and no object: 410 UPLOAD_EXPIRED naming the session', async () => {
      const w = world();
      const s = w.db.add(aSession().expired().build());
      const e = await w.refusal(s);
      expect(e.code).toBe(DomainErrorCode.UPLOAD_EXPIRED);
      expect(e.message).toContain(s.id);
    });

    it('expired, but the object arrived: it is taken', async () => {
      const w = world();
      const s = w.db.add(aSession().expired().build());
      w.store.holdsObject(s);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
    });

    it('a part list for a single PUT is a 400 naming parts', async () => {
      const w = world();
      const s = w.db.add(aSession().build());
      w.store.holdsObject(s);
      const e = await w.refusal(s, { parts: [{ partNumber: 1, etag: 'x' }] });
      expect(e).toMatchObject({ code: DomainErrorCode.INVALID_INPUT, details: [{ field: 'parts', message: 'a single-PUT upload has no parts' }] });
      expect(w.db.seen).toEqual([]);
    });
  });

  describe('multipart, in parts of our plan', () => {
    it('completes from the parts the store holds, in order, after reconciling them; the session is UPLOADED', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(3).build());
      w.store.holdsParts(s, [part(3), part(1), part(2)]);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.db.reconciled).toEqual([{ sessionId: s.id, partNumbers: [3, 1, 2] }]);
      expect(w.store.completedWith).toEqual([1, 2, 3].map((n) => ({ partNumber: n, etag: `etag-${n}` })));
      expect(w.db.seen).toEqual([{ sessionId: s.id, object: expect.objectContaining({ size: 15 * MiB }) }]);
    });

    it('a part the store does not hold yet: 409 naming the missing part numbers, nothing completed', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(4).build());
      w.store.holdsParts(s, [part(1), part(3)]);
      const e = await w.refusal(s);
      expect(e).toMatchObject({ code: DomainErrorCode.SESSION_STATE_CONFLICT, details: [{ field: 'parts', message: 'missing in storage: 2, 4' }] });
      expect(w.store.completedWith).toBeNull();
      // What the store holds is still recorded: the parts the client sent count.
      expect(w.db.reconciled).toHaveLength(1);
    });

    it('parts holding other than the declared size: 409 naming parts with both sizes', async () => {
      const w = world();
      const s = w.db.add(
        aSession()
          .multipart(2, 10 * MiB)
          .build(),
      );
      w.store.holdsParts(s, [part(1), part(2, 1)]);
      const e = await w.refusal(s);
      expect(e).toMatchObject({
        code: DomainErrorCode.SESSION_STATE_CONFLICT,
        details: [{ field: 'parts', message: `hold ${5 * MiB + 1} bytes; ${10 * MiB} were declared` }],
      });
      expect(w.store.completedWith).toBeNull();
    });

    it.each([
      ['a part number beyond the plan', [{ partNumber: 3, etag: 'etag-3' }], 'parts[0].partNumber', 'must be within 1..2'],
      [
        'a part the store does not hold',
        [
          { partNumber: 1, etag: 'etag-1' },
          { partNumber: 2, etag: 'etag-2' },
        ],
        'parts[1].partNumber',
        'part 2 is not in storage',
      ],
      ['an ETag that is not the stored one', [{ partNumber: 1, etag: '"other"' }], 'parts[0].etag', 'does not match the stored part 1'],
    ])('a client list is checked against the store, never trusted: %s is a 400 naming it', async (_what, parts, field, message) => {
      const w = world();
      const s = w.db.add(aSession().multipart(2).build());
      w.store.holdsParts(s, [part(1)]);
      const e = await w.refusal(s, { parts });
      expect(e).toMatchObject({ code: DomainErrorCode.INVALID_INPUT, details: [{ field, message }] });
      expect(w.store.completedWith).toBeNull();
    });

    it('a client list that matches (quoted ETags too) completes with the plan', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(2).build());
      w.store.holdsParts(s, [part(1), part(2)]);
      await expect(
        w.complete(s, {
          parts: [
            { partNumber: 2, etag: '"etag-2"' },
            { partNumber: 1, etag: 'etag-1' },
          ],
        }),
      ).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.store.completedWith?.map((p) => p.partNumber)).toEqual([1, 2]);
    });

    it('expired: 410 UPLOAD_EXPIRED, the store is not asked to complete', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).expired().build());
      w.store.holdsParts(s, [part(1)]);
      expect((await w.refusal(s)).code).toBe(DomainErrorCode.UPLOAD_EXPIRED);
      expect(w.store.completedWith).toBeNull();
      expect(w.db.reconciled).toEqual([]);
    });

    it('expired, but the store already assembled the object: it is taken', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).expired().build());
      w.store.holdsObject(s);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.store.completedWith).toBeNull();
    });

    it('the store knows no such upload but holds the object (an earlier call completed it): the object is taken', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).build());
      w.store.holdsObject(s);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.db.seen).toHaveLength(1);
    });

    it('the store knows no such upload and holds no object (aborted in the store): 409', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).build());
      const e = await w.refusal(s);
      expect(e.code).toBe(DomainErrorCode.SESSION_STATE_CONFLICT);
      expect(e.message).toContain(`knows no multipart upload ${s.uploadId}`);
    });

    it('a concurrent call completed it between our ListParts and our complete: the object it made is taken', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).build());
      w.store.holdsParts(s, [part(1)]);
      w.store.completedConcurrently = true;
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.db.seen).toEqual([{ sessionId: s.id, object: expect.objectContaining({ size: 5 * MiB }) }]);
    });

    it('completed, then a second call: the session is returned as it is (idempotent)', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(1).build());
      w.store.holdsParts(s, [part(1)]);
      await w.complete(s);
      await expect(w.complete(s)).resolves.toMatchObject({ status: FileStatus.UPLOADED });
      expect(w.db.seen).toHaveLength(1);
    });
  });

  describe('multipart, parts chosen by the client (Uppy)', () => {
    it('no part list: 400 naming parts', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(0, null).build());
      w.store.holdsParts(s, [part(1)]);
      expect(await w.refusal(s)).toMatchObject({
        code: DomainErrorCode.INVALID_INPUT,
        details: [{ field: 'parts', message: 'must list the parts to complete with' }],
      });
    });

    it('completes with the listed parts (each once, in order); size and part count are recorded first', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(0, null).build());
      w.store.holdsParts(s, [part(1), part(2, 3), part(3)]);
      const body = {
        parts: [
          { partNumber: 2, etag: 'etag-2' },
          { partNumber: 1, etag: 'etag-1' },
          { partNumber: 2, etag: 'etag-2' },
        ],
      };
      await expect(w.complete(s, body)).resolves.toMatchObject({ status: FileStatus.UPLOADED, size: 5 * MiB + 3, totalParts: 2 });
      expect(w.store.completedWith?.map((p) => p.partNumber)).toEqual([1, 2]);
    });

    it('parts holding more than the maximum file size: 413-kind FILE_TOO_LARGE naming parts, nothing completed', async () => {
      const w = world();
      const s = w.db.add(aSession().multipart(0, null).build());
      const big = Array.from({ length: 21 }, (_, i) => part(i + 1));
      w.store.holdsParts(s, big);
      const e = await w.refusal(s, { parts: big.map((p) => ({ partNumber: p.partNumber, etag: p.etag })) });
      expect(e).toMatchObject({
        code: DomainErrorCode.FILE_TOO_LARGE,
        details: [{ field: 'parts', message: `hold ${21 * 5 * MiB} bytes; at most ${100 * MiB} are allowed` }],
      });
      expect(w.store.completedWith).toBeNull();
      expect(s.size).toBeNull();
    });
  });
});
