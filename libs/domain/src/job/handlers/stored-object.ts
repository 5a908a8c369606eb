import { ObjectStorage } from '../../ports/object-storage.port';
import { JobFailure } from './job-handler';

/**
 * Reads the whole stored object chunk by chunk, stopping when the job is aborted. A missing object is a
 * transient failure here: it is either being deleted (the session then goes DELETED and the job is
 * cancelled at its next claim) or not yet visible on an eventually consistent store; retries decide.
 */
export async function forEachChunk(storage: ObjectStorage, key: string, signal: AbortSignal, onChunk: (chunk: Buffer) => void): Promise<number> {
  if (!(await storage.head(key))) throw new JobFailure(`object ${key} is not in storage`, false);
  const body = await storage.stream(key);
  let bytes = 0;
  try {
    for await (const chunk of body) {
      signal.throwIfAborted();
      onChunk(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } finally {
    body.destroy();
  }
  return bytes;
}
