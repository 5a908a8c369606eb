import { createHash, Hash } from 'node:crypto';
import { ObjectChangedError, ObjectStorage } from '../../ports/object-storage.port';
import { JobContext, JobFailure, ObjectDigest, ObjectNeeds, OBJECT_CHANGED, SessionView } from './job-handler';

/** What several jobs need from one object, together: the most head bytes, every hash any of them wants. */
export function unionOfNeeds(needs: ObjectNeeds[]): ObjectNeeds {
  return {
    headBytes: Math.max(0, ...needs.map((n) => n.headBytes)),
    sha256: needs.some((n) => n.sha256),
    md5: needs.some((n) => n.md5),
  };
}

/**
 * One GET of a session's object, pinned to the ETag its notification recorded, yielding what `needs` asks for:
 * its first bytes, its hashes (streamed, never the whole file in memory). Only the first bytes are fetched when
 * no hash is wanted; the size comes from the store either way (no HEAD). null when the store has no such object.
 * A replaced object (412) is a permanent failure of its own kind.
 */
export async function readObjectDigest(storage: ObjectStorage, session: SessionView, needs: ObjectNeeds, signal: AbortSignal): Promise<ObjectDigest | null> {
  const whole = needs.sha256 || needs.md5;
  let read;
  try {
    read = await storage.read(session.objectKey, { firstBytes: whole ? undefined : Math.max(1, needs.headBytes), ifMatch: session.etag, signal });
  } catch (e) {
    if (e instanceof ObjectChangedError) throw JobFailure.permanent(`${OBJECT_CHANGED}: ${e.message}`);
    throw e;
  }
  if (!read) return null;
  const sha256: Hash | undefined = needs.sha256 ? createHash('sha256') : undefined;
  const md5: Hash | undefined = needs.md5 ? createHash('md5') : undefined;
  const head: Buffer[] = [];
  let headLength = 0;
  try {
    for await (const chunk of read.body) {
      signal.throwIfAborted();
      if (headLength < needs.headBytes) {
        const take = chunk.subarray(0, needs.headBytes - headLength);
        head.push(take);
        headLength += take.length;
      }
      sha256?.update(chunk);
      md5?.update(chunk);
    }
  } finally {
    read.body.destroy();
  }
  return { size: read.size, head: head.length === 1 ? head[0] : Buffer.concat(head, headLength), sha256: sha256?.digest(), md5: md5?.digest() };
}

/** A content handler's `run` on its own: one read for this job alone. */
export async function runAlone(
  storage: ObjectStorage,
  ctx: JobContext,
  handler: { needs(ctx: JobContext): ObjectNeeds; analyze(ctx: JobContext, digest: ObjectDigest | null): Promise<Record<string, unknown>> },
): Promise<Record<string, unknown>> {
  return handler.analyze(ctx, await readObjectDigest(storage, ctx.session, handler.needs(ctx), ctx.signal));
}
