import { Inject, Injectable, Logger } from '@nestjs/common';
import { FileStatus } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { SessionRecord } from '../../lifecycle/records';
import { OBJECT_STORAGE, ObjectStorage } from '../../ports/object-storage.port';
import { sessionIdFromKey, THUMBNAILS_PREFIX } from '../../upload/object-key';
import { STORAGE_EVENT_STORE, StorageEventRound, StorageEventStore } from '../storage-event-store.port';
import { StorageObjectEvent, storageEventIdentity } from '../storage-object-event';

export type StorageEventOutcome =
  | 'uploaded'
  | 'size-mismatch'
  | 'deleted'
  | 'duplicate'
  | 'already-applied'
  | 'late-object-removed'
  | 'stale-removal'
  | 'ignored'
  /** A copy's creation whose object is not in the store (Ceph RGW announces copies that failed, e.g. a 412). */
  | 'absent-copy'
  /** Other bytes replaced a stored object after it was announced: the session is FAILED (DELETED once COMPLETED) with OBJECT_REPLACED. */
  | 'replaced'
  /** A creation for an object no session knows: the record can never apply (its message is dead-lettered). */
  | 'unknown-object';

/** Sessions whose object is stored: a removal may concern them. */
const STORED: readonly FileStatus[] = [FileStatus.UPLOADED, FileStatus.PROCESSING, FileStatus.COMPLETED];
const WAITING: readonly FileStatus[] = [FileStatus.PENDING_UPLOAD, FileStatus.UPLOADING];
const ENDED: readonly FileStatus[] = [FileStatus.FAILED, FileStatus.DELETED];

/** A server-side copy's creation (`ObjectCreated:Copy`, with or without MinIO's `s3:` prefix). */
const isCopy = (e: StorageObjectEvent) => e.kind === 'created' && e.eventName.endsWith('ObjectCreated:Copy');

/** Error of a session whose stored object was replaced by other bytes. WARNING: persisted and published (session events). */
export const OBJECT_REPLACED = 'OBJECT_REPLACED';

/** What the store says of an event's object, asked before the transaction (no network call inside one). */
interface Probe {
  /** Created events without a size, and copies: the stored size (null: no object). */
  size?: number | null;
  /** Created events without an ETag, or one that is not the session's: the ETag the store holds now (null: no object). */
  current?: { etag: string | null };
  /** Removed events: whether an object is there again (removal and re-creation arrive in either order). */
  exists?: boolean;
}

/** A created event on a stored session with another ETag than the recorded one: the store decides, after the round. */
type Outcome = StorageEventOutcome | 'recheck';

/**
 * Moves sessions by what the store says happened to their objects. Notifications are at-least-once and
 * unordered: each is applied at most once (by identity), and a late or reordered one never moves a session
 * backwards. A batch of notifications is applied in one transaction: the session changes, their jobs and their
 * messages commit together, each kind of row in one statement.
 */
@Injectable()
export class ApplyStorageEventUseCase {
  private readonly logger = new Logger(ApplyStorageEventUseCase.name);

  constructor(
    @Inject(STORAGE_EVENT_STORE) private readonly store: StorageEventStore,
    @Inject(OBJECT_STORAGE) private readonly storage: ObjectStorage,
  ) {}

  /** One event (the reconciler's, the gateway's complete). A creation no session knows is an UNKNOWN_OBJECT error. */
  async execute(event: StorageObjectEvent): Promise<StorageEventOutcome> {
    const [outcome] = await this.applyBatch([event]);
    if (outcome === 'unknown-object') throw new DomainError(DomainErrorCode.UNKNOWN_OBJECT, `No upload session for object ${event.bucket}/${event.key}`);
    return outcome;
  }

  /** The outcome of each event, in order. */
  async applyBatch(events: StorageObjectEvent[]): Promise<StorageEventOutcome[]> {
    const outcomes: Outcome[] = events.map((e) => (e.key.startsWith(THUMBNAILS_PREFIX) ? 'ignored' : 'duplicate'));
    const relevant = events.map((e, i) => i).filter((i) => outcomes[i] !== 'ignored');
    await this.applyRounds(events, relevant, await this.probe(events, relevant), outcomes);
    // Creations announcing another ETag than the one recorded for a stored session (a replacement, or only the
    // store's other spelling of a multipart ETag): their identities were not recorded; what the store holds now
    // decides, in a second round.
    const recheck = relevant.filter((i) => outcomes[i] === 'recheck');
    if (recheck.length > 0) {
      const probes = new Map<number, Probe>();
      for (const i of recheck) probes.set(i, { current: { etag: (await this.storage.head(events[i].key))?.etag ?? null } });
      await this.applyRounds(events, recheck, probes, outcomes);
    }
    return outcomes.map((o) => (o === 'recheck' ? 'already-applied' : o));
  }

  private async applyRounds(events: StorageObjectEvent[], indices: number[], probes: Map<number, Probe>, outcomes: Outcome[]): Promise<void> {
    // A key twice in one batch (a creation and its removal, a replay): applied in order, one round each.
    for (const round of rounds(indices, (i) => events[i].key)) {
      const { results, deletions } = await this.store.round((tx) =>
        this.applyRound(
          tx,
          round.map((i) => ({ event: events[i], probe: probes.get(i) ?? {} })),
        ),
      );
      round.forEach((i, k) => (outcomes[i] = results[k]));
      // After the commit: an object of an ended session must not stay. A replay after a crash here finds its
      // identity applied and deletes again (idempotent).
      for (const key of deletions) await this.storage.delete(key);
    }
  }

  private async probe(events: StorageObjectEvent[], relevant: number[]): Promise<Map<number, Probe>> {
    const probes = new Map<number, Probe>();
    for (const i of relevant) {
      const e = events[i];
      if (e.kind === 'removed') probes.set(i, { exists: (await this.storage.head(e.key)) !== null });
      else if (e.size === null || e.etag === null || isCopy(e)) {
        // The ETag recorded is what every job read and download is pinned to: never record none. A copy is
        // believed only once the store shows its object: Ceph RGW also announces copies that failed.
        const stored = await this.storage.head(e.key);
        probes.set(i, { size: stored?.size ?? null, current: { etag: stored?.etag ?? null } });
      }
    }
    return probes;
  }

  private async applyRound(
    round: StorageEventRound,
    items: { event: StorageObjectEvent; probe: Probe }[],
  ): Promise<{ results: Outcome[]; deletions: string[] }> {
    const identities = items.map((it) => storageEventIdentity(it.event));
    const opened = await round.open(
      identities,
      items.map((it) => it.event.key),
      items.map((it) => sessionIdFromKey(it.event.key)).filter((id): id is string => id !== null),
    );
    const { fresh } = opened;
    const sessions = new Map(opened.sessions.map((s) => [s.id, s]));
    const byKey = new Map(opened.sessions.map((s) => [s.objectKey, s]));
    const sessionOf = (e: StorageObjectEvent): SessionRecord | null => {
      const s = byKey.get(e.key) ?? sessions.get(sessionIdFromKey(e.key) ?? '');
      return s && s.bucket === e.bucket ? s : null;
    };

    const results: Outcome[] = [];
    const deletions: string[] = [];
    const unrecorded: string[] = [];
    const replaced: { index: number; session: SessionRecord; etag: string }[] = [];
    const uploads: { index: number; session: SessionRecord; etag: string | null; size: number }[] = [];
    const mismatches: { index: number; session: SessionRecord; message: string }[] = [];
    const removals: { index: number; session: SessionRecord }[] = [];
    items.forEach(({ event, probe }, index) => {
      const session = sessionOf(event);
      if (!fresh.has(identities[index])) {
        // A replay. A creation for an ended session deletes the object again: the first delivery may have died before.
        if (event.kind === 'created' && session && ENDED.includes(session.status)) deletions.push(session.objectKey);
        return void (results[index] = 'duplicate');
      }
      if (event.kind === 'removed') {
        // The store tells of removals of keys that never existed, and of objects we removed ourselves.
        if (!session || !STORED.includes(session.status)) return void (results[index] = 'ignored');
        if (probe.exists) return void (results[index] = 'stale-removal');
        return void removals.push({ index, session });
      }
      if (!session) return void (results[index] = 'unknown-object');
      if (isCopy(event) && probe.size === null) return void (results[index] = 'absent-copy');
      if (STORED.includes(session.status)) {
        // Bytes were validated (or are being) under the recorded ETag: other bytes under the key are a replacement.
        const now = probe.current;
        if (session.etag === null || (now === undefined && event.etag === session.etag)) return void (results[index] = 'already-applied');
        if (now === undefined) {
          // Only the store knows whether this is a replacement (RGW spells a multipart ETag differently in its
          // notification): asked after this round; the identity stays unrecorded so a crash meanwhile replays it.
          unrecorded.push(identities[index]);
          return void (results[index] = 'recheck');
        }
        // Gone (its removal follows) or the validated bytes again: nothing was replaced.
        if (now.etag === null || now.etag === session.etag) return void (results[index] = 'already-applied');
        return void replaced.push({ index, session, etag: now.etag });
      }
      if (ENDED.includes(session.status)) {
        // The object arrived after the session ended (expired, aborted, cancelled, deleted): it must not stay.
        deletions.push(session.objectKey);
        return void (results[index] = 'late-object-removed');
      }
      const size = (isCopy(event) ? probe.size : event.size) ?? probe.size ?? null;
      // A session without a declared size (Uppy's form POST) takes the stored one: the store enforced the policy's range.
      const expected = session.size ?? (size !== null && size > 0 ? size : -1);
      if (size === null || size !== expected) mismatches.push({ index, session, message: `stored ${size ?? 'no'} bytes, declared ${session.size}` });
      else uploads.push({ index, session, etag: event.etag ?? probe.current?.etag ?? null, size });
    });
    await round.forget(unrecorded);

    const { sessions: uploaded, jobs } = await round.markUploaded(
      uploads.map((u) => ({ bucket: u.session.bucket, objectKey: u.session.objectKey, etag: u.etag, size: u.size })),
    );
    const movedByKey = new Map(uploaded.map((s) => [s.objectKey, s]));
    for (const u of uploads) results[u.index] = movedByKey.has(u.session.objectKey) ? 'uploaded' : 'already-applied';

    // Only a session still waiting for its bytes fails on a size mismatch; one the right object already reached stays.
    const failed = await round.fail(
      mismatches.map((m) => ({ id: m.session.id, error: 'SIZE_MISMATCH', errorMessage: m.message })),
      [...WAITING],
    );
    for (const m of mismatches) results[m.index] = failed.some((f) => f.id === m.session.id) ? 'size-mismatch' : 'already-applied';
    for (const f of failed) deletions.push(f.objectKey);

    // Deleted before it finished: its group counts it as failed (a COMPLETED one was counted already).
    const deleted = await round.markDeleted(
      removals.map((r) => r.session.id),
      [...STORED],
    );
    for (const r of removals) results[r.index] = deleted.some((d) => d.id === r.session.id) ? 'deleted' : 'already-applied';

    // Replaced after it was announced: never served or announced as validated. Its object goes (after the commit).
    const ended = await round.markReplaced(
      replaced.map((r) => ({
        id: r.session.id,
        etag: r.session.etag!,
        errorMessage: `${OBJECT_REPLACED}: the stored object (ETag ${r.etag}) is not the one announced (ETag ${r.session.etag}); it was removed`,
      })),
    );
    for (const r of replaced) results[r.index] = ended.some((e) => e.id === r.session.id) ? 'replaced' : 'already-applied';
    for (const e of ended) deletions.push(e.objectKey);

    // Debug: the intake's 'storage event applied' line (outcome uploaded) already says it at info, once per notification.
    for (const s of uploaded) {
      this.logger.debug({ msg: 'session uploaded', correlationId: s.id, sessionId: s.id, jobs: jobs.filter((j) => j.sessionId === s.id).map((j) => j.type) });
    }
    for (const s of ended)
      this.logger.warn({ msg: 'stored object replaced: session ended', correlationId: s.id, sessionId: s.id, status: s.status, error: OBJECT_REPLACED });
    return { results, deletions };
  }
}

/** Splits indices into consecutive rounds in which no key appears twice, keeping each key's events in order. */
export function rounds(indices: number[], keyOf: (i: number) => string): number[][] {
  const out: number[][] = [];
  const roundOfKey = new Map<string, number>();
  for (const i of indices) {
    const key = keyOf(i);
    const r = (roundOfKey.get(key) ?? -1) + 1;
    roundOfKey.set(key, r);
    (out[r] ??= []).push(i);
  }
  return out;
}
