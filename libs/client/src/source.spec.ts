import { Readable } from 'node:stream';
import { guessContentType, resolveSource } from './source';

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) % 251);

describe('resolveSource', () => {
  it('reads a stream in exact lengths, whatever its chunking, buffering only what a call needs', async () => {
    const chunks = [bytes(3), bytes(10, 3), bytes(1, 13), bytes(6, 14)];
    const src = await resolveSource(Readable.from(chunks.map((c) => Buffer.from(c))), 20);
    expect(src.size).toBe(20);
    expect(src.slice).toBeUndefined();
    expect([...(await src.read!(8))]).toEqual([...bytes(8)]);
    expect([...(await src.read!(8))]).toEqual([...bytes(8, 8)]);
    expect([...(await src.read!(4))]).toEqual([...bytes(4, 16)]);
  });

  it('says when a stream ends before its announced size', async () => {
    const src = await resolveSource(Readable.from([Buffer.from(bytes(5))]), 10);
    await expect(src.read!(10)).rejects.toThrow('the stream ended after 5 bytes; 10 were announced');
  });

  it("refuses a stream without a size: the store signs every PUT's length", async () => {
    await expect(resolveSource(Readable.from([Buffer.from('x')]))).rejects.toThrow(/needs `size`/);
  });

  it('reads a web ReadableStream too', async () => {
    const web = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes(4));
        c.enqueue(bytes(4, 4));
        c.close();
      },
    });
    const src = await resolveSource(web, 8);
    expect([...(await src.read!(6))]).toEqual([...bytes(6)]);
  });

  it('slices bytes and blobs without copying the whole source', async () => {
    const buf = await resolveSource(bytes(10));
    expect([...(buf.slice!(2, 5) as Uint8Array)]).toEqual([2, 3, 4]);
    const blob = await resolveSource(new Blob([bytes(10)], { type: 'image/png' }));
    expect(blob).toMatchObject({ size: 10, contentType: 'image/png' });
    expect([...new Uint8Array(await (blob.slice!(8, 10) as Blob).arrayBuffer())]).toEqual([8, 9]);
  });

  it('opens a path as a file-backed blob with its name', async () => {
    const src = await resolveSource(__filename);
    expect(src.name).toBe('source.spec.ts');
    expect(src.size).toBeGreaterThan(100);
    expect(await (src.slice!(0, 6) as Blob).text()).toBe('import');
  });
});

describe('guessContentType', () => {
  it.each([
    ['a.PNG', 'image/png'],
    ['notes.txt', 'text/plain'],
    ['archive.tar.gz', 'application/gzip'],
    ['noext', 'application/octet-stream'],
    [undefined, 'application/octet-stream'],
  ])('%s → %s', (name, type) => expect(guessContentType(name)).toBe(type));
});
