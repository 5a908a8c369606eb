import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Of } from './hash';
import { resolveSource } from './source';

describe('sha256Of (skipExisting)', () => {
  const bytes = Buffer.alloc(20 * 1024 * 1024 + 7, 'x');
  const expected = createHash('sha256').update(bytes).digest('base64');

  it('hashes a path a slice at a time, reporting the bytes hashed so far up to the whole file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hash-')), 'big.bin');
    writeFileSync(path, bytes);
    const seen: number[] = [];
    expect(await sha256Of(await resolveSource(path), (n) => seen.push(n))).toBe(expected);
    expect(seen).toEqual([8 * 1024 * 1024, 16 * 1024 * 1024, bytes.length]);
  });

  it('hashes bytes and Blobs to the same digest', async () => {
    expect(await sha256Of(await resolveSource(bytes))).toBe(expected);
    expect(await sha256Of(await resolveSource(new Blob([bytes])))).toBe(expected);
  });

  it('refuses a stream (it could not be sent after being hashed)', async () => {
    await expect(sha256Of(await resolveSource(Readable.from([bytes]), bytes.length))).rejects.toThrow(TypeError);
  });
});
