import type { Actor } from '../../identity/actor';
import type { StoredObject, StoredPart } from '../../ports/object-storage.port';
import type { SessionRef } from '../session-ref';
import type { UploadSession } from '../upload-session.entity';

/**
 * What completing an upload needs from the database (and from the session lifecycle), by intent. Implemented on
 * Postgres by UploadCompletionsRepository; the use case's unit tests run against an in-memory fake.
 */
export interface UploadCompletions {
  /** The session the actor may act on, or SESSION_NOT_FOUND (also for other people's, and for a key that does not match). */
  find(actor: Actor, ref: SessionRef): Promise<UploadSession>;
  /** The session's FilePart rows and counters brought in line with the parts the store holds (UPLOADING once one is there). */
  reconcileParts(session: UploadSession, stored: StoredPart[]): Promise<void>;
  /** A session whose client chose its parts (Uppy): its size and part count, known from now on; the quota it reserved settles to that size. */
  recordPartPlan(sessionId: string, size: number, totalParts: number): Promise<void>;
  /**
   * The store holds the session's object: the session moves exactly as the store's notification would move it
   * (a confirmation by the gateway, deduplicated with that notification); the session as it is afterwards.
   */
  objectSeen(session: UploadSession, object: StoredObject): Promise<UploadSession>;
}

export const UPLOAD_COMPLETIONS = Symbol('UploadCompletions');
