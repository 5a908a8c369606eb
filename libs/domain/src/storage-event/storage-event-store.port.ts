import type { FileStatus } from '@app/contracts';
import type { JobRecord, SessionRecord } from '../lifecycle/records';
import type { StoredObjectFacts } from '../lifecycle/lifecycle-writer';

/** What a round of notifications finds when it opens. */
export interface OpenedRound {
  /** The identities recorded by this round: never applied before. */
  fresh: Set<string>;
  /** The sessions the events may concern, locked until the round commits. */
  sessions: SessionRecord[];
}

/**
 * The writes of one round of storage notifications, all in one transaction. Every status write is a
 * compare-and-set through FILE_STATUS_TRANSITIONS, and returns only the sessions it moved; the messages a
 * change causes (its jobs, its session and group events) are written in the same transaction and published
 * after the commit.
 */
export interface StorageEventRound {
  /**
   * Records the identities of the round's events (only this round takes them) and locks the sessions they may
   * concern: by object key, or by the session id a mangled key still starts with.
   */
  open(identities: string[], objectKeys: string[], sessionIds: string[]): Promise<OpenedRound>;
  /** Forgets identities `open` recorded: their events are decided later (a crash meanwhile replays them). */
  forget(identities: string[]): Promise<void>;
  /** Waiting sessions whose object arrived with the declared size → UPLOADED, with their jobs, their messages and their groups started. */
  markUploaded(objects: StoredObjectFacts[]): Promise<{ sessions: SessionRecord[]; jobs: JobRecord[] }>;
  /** Sessions still in one of `from` → FAILED with the error, their `session.failed` and group counts. */
  fail(failures: { id: string; error: string; errorMessage: string }[], from: FileStatus[]): Promise<SessionRecord[]>;
  /** Stored sessions whose object was removed → DELETED, their `session.deleted` and group counts. */
  markDeleted(ids: string[], from: FileStatus[]): Promise<SessionRecord[]>;
  /**
   * Stored sessions whose validated object (recorded ETag `etag`) was replaced: FAILED, or DELETED once
   * COMPLETED, with the matching event and group counts.
   */
  markReplaced(replaced: { id: string; etag: string; errorMessage: string }[]): Promise<SessionRecord[]>;
}

/** Where the intake keeps its books (StorageEventRepository on Postgres; in-memory in the use case's unit tests). */
export interface StorageEventStore {
  /**
   * Runs `work` in one transaction (run again on a deadlock: it must only write through the round) and returns
   * its result once committed.
   */
  round<T>(work: (round: StorageEventRound) => Promise<T>): Promise<T>;
}

export const STORAGE_EVENT_STORE = Symbol('StorageEventStore');
