import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { ObjectChangedError, type ObjectRead } from '@app/domain';
import type { S3Settings } from './s3-object-storage';
import { DEFAULT_S3_REQUEST_TIMEOUT_MS } from './s3-timeouts';

/** Retries of a GET that failed before its body started (a reset connection, a 5xx), as the SDK would. */
const ATTEMPTS = 3;

/** S3's URI encoding of a key's path segments (RFC 3986 unreserved characters stay, `/` separates). */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** `bytes 0-4099/123456` → 123456. */
function totalOf(contentRange: string | undefined): number | null {
  const m = /\/(\d+)\s*$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : null;
}

function unquote(etag: string | undefined): string | null {
  return etag ? etag.replace(/^"|"$/g, '') : null;
}

async function drain(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').slice(0, 500);
}

class StoreError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`the store answered ${status} to a GET: ${/<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? body.slice(0, 200)}`);
    this.name = 'StoreError';
  }
}

/**
 * The read side's one hot call, a GET of an object, signed with SigV4 (the signing key is cached per day) and sent
 * on a keep-alive agent: about a third of the CPU of the SDK's GetObject, which runs a middleware stack per call.
 * The whole object, or its first bytes with the whole size from Content-Range; pinned by If-Match when given.
 */
export class S3ObjectReader {
  private readonly signer: SignatureV4;
  private readonly base: URL;
  private readonly agent: http.Agent;
  /** Longest wait for the store's answer (headers); reading the body then streams at its own pace. */
  private readonly answerTimeoutMs: number;

  constructor(private readonly settings: S3Settings) {
    this.answerTimeoutMs = settings.requestTimeoutMs ?? DEFAULT_S3_REQUEST_TIMEOUT_MS;
    this.base = new URL(settings.endpoint);
    this.signer = new SignatureV4({
      service: 's3',
      region: settings.region,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      sha256: Hash.bind(null, 'sha256'),
      // S3 signs the path as sent, encoded once.
      uriEscapePath: false,
      applyChecksum: false,
    });
    const options = { keepAlive: true, maxSockets: 128 };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  async read(key: string, opts: { firstBytes?: number; ifMatch?: string | null; signal?: AbortSignal } = {}): Promise<ObjectRead | null> {
    for (let attempt = 1; ; attempt++) {
      let res: IncomingMessage;
      try {
        res = await this.send(key, opts);
      } catch (e) {
        if (attempt >= ATTEMPTS || opts.signal?.aborted) throw e;
        continue;
      }
      const status = res.statusCode ?? 0;
      if (status === 200 || status === 206) {
        const size = totalOf(res.headers['content-range']) ?? Number(res.headers['content-length'] ?? 0);
        return { size, etag: unquote(res.headers.etag), body: res };
      }
      const body = await drain(res);
      if (status === 404) return null;
      if (status === 412) throw new ObjectChangedError(key, opts.ifMatch!);
      // An empty object has no satisfiable range: nothing to read.
      if (status === 416) return { size: 0, etag: null, body: Readable.from([]) };
      if (status >= 500 && attempt < ATTEMPTS) continue;
      throw new StoreError(status, body);
    }
  }

  private async send(key: string, opts: { firstBytes?: number; ifMatch?: string | null; signal?: AbortSignal }): Promise<IncomingMessage> {
    const virtualHost = !this.settings.forcePathStyle;
    const hostname = virtualHost ? `${this.settings.bucket}.${this.base.hostname}` : this.base.hostname;
    const host = this.base.port ? `${hostname}:${this.base.port}` : hostname;
    const path = `${this.base.pathname.replace(/\/+$/, '')}${virtualHost ? '' : `/${this.settings.bucket}`}/${encodeKey(key)}`;
    const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (opts.firstBytes !== undefined) headers.range = `bytes=0-${Math.max(0, opts.firstBytes - 1)}`;
    if (opts.ifMatch) headers['if-match'] = `"${opts.ifMatch.replace(/^"|"$/g, '')}"`;
    const signed = await this.signer.sign({
      method: 'GET',
      protocol: this.base.protocol,
      hostname,
      port: Number(this.base.port) || undefined,
      path,
      headers,
      query: {},
    });
    const transport = this.base.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = transport.request(
        {
          host: this.base.hostname,
          port: this.base.port || undefined,
          path,
          method: 'GET',
          headers: signed.headers,
          agent: this.agent,
          signal: opts.signal,
          timeout: this.answerTimeoutMs,
        },
        (res) => {
          req.setTimeout(0);
          resolve(res);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from the store within ${this.answerTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }
}
