import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';

/** A valid PNG of w×h red pixels, made here (no fixtures on disk). */
export function pngBytes(w = 4, h = 4): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const t = Buffer.from(type);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(Buffer.concat([t, data])));
    return Buffer.concat([len, t, data, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.concat(Array.from({ length: h }, () => Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, Buffer.from([255, 0, 0]))])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function sha256Base64(b: Buffer): string {
  return createHash('sha256').update(b).digest('base64');
}

/** Builds the body of POST /v1/uploads for some bytes: `anUpload(bytes).named('x.png').ofType('image/png').build()`. */
export class UploadBuilder {
  private body: Record<string, unknown>;
  constructor(readonly bytes: Buffer) {
    this.body = { filename: 'file.txt', contentType: 'text/plain', size: bytes.length };
  }
  named(filename: string): this {
    this.body.filename = filename;
    return this;
  }
  ofType(contentType: string): this {
    this.body.contentType = contentType;
    return this;
  }
  withChecksum(sha256 = sha256Base64(this.bytes)): this {
    this.body.checksumSha256 = sha256;
    return this;
  }
  declaringSize(size: number): this {
    this.body.size = size;
    return this;
  }
  with(fields: Record<string, unknown>): this {
    Object.assign(this.body, fields);
    return this;
  }
  build(): Record<string, unknown> {
    return { ...this.body };
  }
}

export const anUpload = (bytes: Buffer) => new UploadBuilder(bytes);
export const textBytes = (text = `hello ${Math.random()}\n`) => Buffer.from(text, 'utf8');
