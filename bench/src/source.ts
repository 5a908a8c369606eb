import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1024 * 1024;
const template = randomBytes(CHUNK);

/**
 * Bytes [start, start + length) of a synthetic file, made on demand: a random MiB repeated, each MiB stamped
 * with its index (no two equal). Cheap for the client on a 2-core machine that also runs the servers.
 */
export function slice(start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let pos = 0; pos < length;) {
    const abs = start + pos;
    const inChunk = abs % CHUNK;
    const n = Math.min(CHUNK - inChunk, length - pos);
    template.copy(out, pos, inChunk, inChunk + n);
    // The stamp: the chunk's index in its first 8 bytes.
    if (inChunk < 8) {
      const stamp = Buffer.alloc(8);
      stamp.writeBigUInt64BE(BigInt(Math.floor(abs / CHUNK)));
      stamp.copy(out, pos, inChunk, Math.min(8, inChunk + n));
    }
    pos += n;
  }
  return out;
}

/** A stream of `size` bytes of the synthetic file, one MiB at a time; never holds the file in memory. */
export function fileStream(size: number): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      if (offset >= size) return void this.push(null);
      const n = Math.min(CHUNK, size - offset);
      this.push(slice(offset, n));
      offset += n;
    },
  });
}
