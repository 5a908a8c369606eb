import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { constants, crc32, createDeflate } from 'node:zlib';
import { System } from '../support/apps';
import { anUpload } from '../support/builders';
import { createUpload, sendBytes, waitForStatus } from '../support/flows';
import { PORT_BASE } from '../support/test-env';

jest.setTimeout(120_000);

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid w × h RGB PNG of zeros: a few hundred KiB that decode to w × h × 3 bytes (10,000²: 300 MB). */
async function pngBomb(w: number, h: number): Promise<Buffer> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(1 + w * 3);
  for (let y = 0; y < h; y++) if (!deflate.write(row)) await new Promise((r) => deflate.once('drain', r));
  deflate.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.concat(out)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Issue 16, MEDIUM 6: IMAGE_MAX_PIXELS was 100 M with 4 decoders at once, more than the 1 GiB pod holds. Sized from
 * memory and concurrency (1 GiB, 4: 16.7 M pixels), a 10,000 × 10,000 PNG fails its THUMBNAIL job before it is
 * decoded, and the processor goes on with the next image.
 */
describe('security: image bomb (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: '*', JOB_MEMORY_BYTES: String(1024 ** 3), THUMBNAIL_CONCURRENCY: '4' });
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('a 10,000 × 10,000 PNG fails its THUMBNAIL job (pixel limit); the processor lives and thumbnails the next image', async () => {
    const bomb = await pngBomb(10_000, 10_000);
    expect(bomb.length).toBeLessThan(2 * 1024 ** 2);
    const created = await createUpload(
      anUpload(bomb)
        .named(`bomb-${randomUUID()}.png`)
        .ofType('image/png')
        .with({ jobs: [{ type: 'THUMBNAIL' }] }),
    );
    expect(await sendBytes(created, bomb)).toBe(200);
    const done = await waitForStatus(created.id, created.caller, ['COMPLETED', 'FAILED'], 90_000);
    const thumbnail = done.jobs.find((j: any) => j.type === 'THUMBNAIL');
    expect(thumbnail).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(thumbnail.error).toMatch(/pixel limit/i);

    expect((await fetch(`http://127.0.0.1:${PORT_BASE + 2}/health/ready`)).status).toBe(200);
    const fine = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .png()
      .toBuffer();
    const next = await createUpload(
      anUpload(fine)
        .named('fine.png')
        .ofType('image/png')
        .with({ jobs: [{ type: 'THUMBNAIL' }] }),
    );
    expect(await sendBytes(next, fine)).toBe(200);
    const after = await waitForStatus(next.id, next.caller, ['COMPLETED', 'FAILED']);
    expect(after.jobs.find((j: any) => j.type === 'THUMBNAIL')).toMatchObject({
      status: 'COMPLETED',
      result: expect.objectContaining({ width: 64, height: 48 }),
    });
  });
});
