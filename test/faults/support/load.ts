import { putToUrl } from '../../support/http';
import { GATEWAY_URL } from '../../support/test-env';
import { sleep } from '../../support/poll';

export interface TrackedUpload {
  id: string;
  uploadToken: string;
  objectKey: string;
  bytes: Buffer;
  upload: { url: string; headers: Record<string, string> };
}

/** What the client saw: retries, 503s (and whether they carried Retry-After), the slowest answer. */
export interface LoadFigures {
  created: number;
  apiRetries: number;
  unavailable503: number;
  retryAfterMissing: number;
  connectionErrors: number;
  putRetries: number;
  slowestApiMs: number;
  elapsedMs: number;
  /** Uploads the client gave up on, with why (a 5xx other than 502/503, a refused PUT, 90 s of retries). */
  failed: number;
}

const RETRY_DEADLINE_MS = 90_000;

/**
 * A client that keeps trying, as a real one would: creates an upload and PUTs its bytes, retrying on
 * connection errors (app killed), 502/503 (dependency down; honouring Retry-After, at most 1 s) and store errors.
 */
export class LoadDriver {
  readonly figures: LoadFigures = {
    created: 0,
    apiRetries: 0,
    unavailable503: 0,
    retryAfterMissing: 0,
    connectionErrors: 0,
    putRetries: 0,
    slowestApiMs: 0,
    elapsedMs: 0,
    failed: 0,
  };
  readonly errors: string[] = [];

  /** `count` uploads started at `perSecond`, at most `concurrency` at once; resolves when every PUT succeeded. */
  async run(count: number, opts: { perSecond: number; concurrency?: number; tag: string }): Promise<TrackedUpload[]> {
    const started = Date.now();
    const out: TrackedUpload[] = [];
    const limit = opts.concurrency ?? 16;
    const running = new Set<Promise<void>>();
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / opts.perSecond;
      if (due > Date.now()) await sleep(due - Date.now());
      while (running.size >= limit) await Promise.race(running);
      const p = this.one(`${opts.tag}-${i}`).then(
        (u) => void out.push(u),
        (e: unknown) => {
          this.figures.failed++;
          this.errors.push(e instanceof Error ? e.message : String(e));
        },
      );
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    await Promise.all(running);
    this.figures.elapsedMs += Date.now() - started;
    return out;
  }

  async one(name: string): Promise<TrackedUpload> {
    const bytes = Buffer.from(`fault-suite ${name} ${'x'.repeat(64 + Math.floor(Math.random() * 512))}\n`);
    const body = await this.createWithRetry({ filename: `${name}.txt`, contentType: 'text/plain', size: bytes.length });
    const tracked: TrackedUpload = { id: body.id, uploadToken: body.uploadToken, objectKey: body.objectKey, bytes, upload: body.upload };
    this.figures.created++;
    await this.putWithRetry(tracked);
    return tracked;
  }

  private async createWithRetry(payload: unknown): Promise<any> {
    const deadline = Date.now() + RETRY_DEADLINE_MS;
    for (;;) {
      const t0 = Date.now();
      let wait = 300;
      try {
        const res = await fetch(`${GATEWAY_URL}/v1/uploads`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        this.figures.slowestApiMs = Math.max(this.figures.slowestApiMs, Date.now() - t0);
        if (res.status === 201) return JSON.parse(text);
        if (res.status !== 503 && res.status !== 502) throw new Error(`create answered ${res.status}: ${text}`);
        this.figures.unavailable503++;
        const retryAfter = Number(res.headers.get('retry-after'));
        if (!retryAfter) this.figures.retryAfterMissing++;
        else wait = Math.min(1000, retryAfter * 1000);
      } catch (e) {
        if (e instanceof Error && e.message.startsWith('create answered')) throw e;
        this.figures.connectionErrors++;
        this.figures.slowestApiMs = Math.max(this.figures.slowestApiMs, Date.now() - t0);
      }
      this.figures.apiRetries++;
      if (Date.now() > deadline) throw new Error('gave up creating an upload after 90 s of retries');
      await sleep(wait);
    }
  }

  private async putWithRetry(u: TrackedUpload): Promise<void> {
    const deadline = Date.now() + RETRY_DEADLINE_MS;
    for (;;) {
      const status = await putToUrl(u.upload.url, u.bytes, u.upload.headers).catch(() => 0);
      if (status === 200) return;
      if (status >= 400 && status < 500) throw new Error(`PUT of ${u.id} answered ${status}`);
      this.figures.putRetries++;
      if (Date.now() > deadline) throw new Error(`gave up PUTting ${u.id}`);
      await sleep(300);
    }
  }
}
