/** What uploadFile accepts: a file path (Node), a Blob or File, bytes, or a readable stream (Node or web) of known size. */
export type UploadSource = string | Blob | Uint8Array | ArrayBuffer | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** A source made uniform: random access (`slice`) for paths, blobs and bytes; sequential (`read`) for streams. */
export interface ResolvedSource {
  name?: string;
  size: number;
  contentType?: string;
  /** Bytes [start, end) as a fetch body that does not hold more of the file in memory than needed. */
  slice?: (start: number, end: number) => Blob | Uint8Array;
  /** Streams only: the next `length` bytes, in order (at most one part is buffered per call). */
  read?: (length: number) => Promise<Uint8Array>;
  /** Streams only: the rest of the stream as a fetch body, for a single PUT. */
  rest?: () => ReadableStream<Uint8Array>;
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html',
  xml: 'application/xml',
  md: 'text/markdown',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

/** A content type from the file name's extension; application/octet-stream when unknown. */
export function guessContentType(name: string | undefined): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name ?? '')?.[1]?.toLowerCase();
  return (ext && TYPES[ext]) || 'application/octet-stream';
}

function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/**
 * Resolves a source. Paths become file-backed Blobs (`fs.openAsBlob`): parts are read from disk when sent,
 * never the whole file. Streams need `size` up front (the store signs each PUT's length).
 */
export async function resolveSource(source: UploadSource, size?: number): Promise<ResolvedSource> {
  if (typeof source === 'string') {
    // Loaded only for paths, so browser bundles never need node:fs.
    const fs = await import('node:fs');
    const stat = await fs.promises.stat(source);
    if (!stat.isFile()) throw new TypeError(`${source} is not a regular file`);
    const blob = await fs.openAsBlob(source);
    return { name: baseName(source), size: stat.size, slice: (s, e) => blob.slice(s, e) as Blob };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const blob = source;
    const name = typeof (source as { name?: unknown }).name === 'string' ? (source as File).name : undefined;
    return { name, size: source.size, contentType: source.type || undefined, slice: (s, e) => blob.slice(s, e) };
  }
  if (source instanceof ArrayBuffer) source = new Uint8Array(source);
  if (source instanceof Uint8Array) {
    const bytes = source;
    return { size: bytes.byteLength, slice: (s, e) => bytes.subarray(s, e) };
  }
  if (size === undefined || !Number.isSafeInteger(size) || size < 1) {
    throw new TypeError('a stream source needs `size` (its exact length in bytes): the store signs the length of every PUT');
  }
  const stream = source as AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
  const iterator = toAsyncIterator(stream);
  const reader = new SequentialReader(iterator, size);
  // fs.createReadStream(path) carries its path.
  const path = (stream as { path?: unknown }).path;
  const name = typeof path === 'string' ? baseName(path) : undefined;
  return { name, size, read: (n) => reader.read(n), rest: () => reader.rest() };
}

function toAsyncIterator(source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const r = (source as ReadableStream<Uint8Array>).getReader();
  return { next: () => r.read() as Promise<IteratorResult<Uint8Array>>, return: async () => (r.releaseLock(), { done: true, value: undefined }) };
}

/** Cuts a stream into exact lengths, buffering only what the current call needs. */
export class SequentialReader {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private consumed = 0;

  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly size: number,
  ) {}

  async read(length: number): Promise<Uint8Array> {
    while (this.pendingBytes < length) {
      const { value, done } = await this.it.next();
      if (done) throw new Error(`the stream ended after ${this.consumed + this.pendingBytes} bytes; ${this.size} were announced`);
      const chunk = typeof value === 'string' ? new TextEncoder().encode(value) : value;
      this.pending.push(chunk);
      this.pendingBytes += chunk.byteLength;
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const head = this.pending[0];
      const take = Math.min(head.byteLength, length - filled);
      out.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.byteLength) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingBytes -= length;
    this.consumed += length;
    return out;
  }

  /** The remaining bytes as a web stream (for one PUT of the whole stream). */
  rest(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const head = this.pending.shift();
        if (head) {
          this.pendingBytes -= head.byteLength;
          return controller.enqueue(head);
        }
        const { value, done } = await this.it.next();
        if (done) controller.close();
        else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value);
      },
    });
  }
}
