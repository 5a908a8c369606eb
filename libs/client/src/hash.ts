import { ResolvedSource } from './source';

/** Bytes read per step while hashing: a path is read from disk a slice at a time, never whole. */
const HASH_CHUNK = 8 * 1024 * 1024;

interface Hasher {
  update(bytes: Uint8Array): void;
  digest(): Promise<Uint8Array>;
}

/** node:crypto's streaming SHA-256 where there is one (Node); else Web Crypto over the collected bytes (browsers). */
async function newHasher(): Promise<Hasher> {
  try {
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    return { update: (b) => void h.update(b), digest: async () => new Uint8Array(h.digest()) };
  } catch {
    // Web Crypto has no streaming digest: the chunks are kept until the end.
    const chunks: Uint8Array[] = [];
    return {
      update: (b) => void chunks.push(b.slice()),
      digest: async () => {
        const all = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
        let at = 0;
        for (const c of chunks) (all.set(c, at), (at += c.byteLength));
        return new Uint8Array(await crypto.subtle.digest('SHA-256', all));
      },
    };
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * The base64 SHA-256 of a source that can be read again (a path, a Blob, bytes), read `HASH_CHUNK` bytes at a time;
 * `onBytes` gets the bytes hashed so far after each step. A stream cannot be hashed and then sent: TypeError.
 */
export async function sha256Of(src: ResolvedSource, onBytes?: (hashed: number) => void, signal?: AbortSignal): Promise<string> {
  if (!src.slice) throw new TypeError('skipExisting needs a source that can be read twice (a path, a Blob or bytes), not a stream');
  const hasher = await newHasher();
  for (let at = 0; at < src.size;) {
    signal?.throwIfAborted();
    const end = Math.min(src.size, at + HASH_CHUNK);
    const part = src.slice(at, end);
    hasher.update(part instanceof Uint8Array ? part : new Uint8Array(await part.arrayBuffer()));
    at = end;
    onBytes?.(at);
  }
  return toBase64(await hasher.digest());
}
