import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway, GatewayError, StorageError, UploadCancelledError, UploadClient, UploadProgress } from '../../libs/client/src';
import { System } from '../support/apps';
import { multipartUploadsUnder, storedSha256, writeDeterministicFile } from '../support/multipart';
import { waitFor } from '../support/poll';
import { StoreProxy } from '../support/store-proxy';
import { CLI } from '../support/terminal';
import { jwtFor } from '../support/http';
import { GATEWAY_URL, PORT_BASE, ROOT, testEnv } from '../support/test-env';

jest.setTimeout(180_000);

const MiB = 1024 ** 2;
const CHROMIUM = '/usr/bin/chromium';

/**
 * The SDK against the three apps and the real store. Pre-signed URLs point at a pass-through proxy in
 * front of the store, which counts the part PUTs that reach storage and can slow them down so that a
 * client can be interrupted mid-way.
 */
describe('upload SDK (e2e)', () => {
  let system: System;
  let proxy: StoreProxy;
  const dir = mkdtempSync(join(tmpdir(), 'sdk-e2e-'));
  const client = new UploadClient({ server: GATEWAY_URL });

  beforeAll(async () => {
    proxy = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 10);
    system = await System.start({
      JOB_TYPES: 'VALIDATION',
      // Multipart from 8 MiB, in 5 MiB parts: 60 MiB is 12 parts.
      MULTIPART_THRESHOLD_BYTES: String(8 * MiB),
      DEFAULT_PART_SIZE_BYTES: String(5 * MiB),
      S3_PUBLIC_ENDPOINT: proxy.url,
    });
  });

  afterEach(() => {
    proxy.delayMs = 0;
    proxy.faults.length = 0;
  });

  afterAll(async () => {
    await system?.stop();
    await proxy?.close();
  });

  it('60 MiB from a path goes up in 12 parallel parts, ends COMPLETED, with monotonic progress reaching 100%', async () => {
    const path = join(dir, 'big.bin');
    const sha = await writeDeterministicFile(path, 60 * MiB, 'sdk-60');
    const seen: UploadProgress[] = [];

    const result = await client.uploadFile(path, { checksumSha256: sha, concurrency: 4, onProgress: (p) => seen.push(p) });

    expect(result).toMatchObject({ strategy: 'MULTIPART', partsSkipped: [], bytesSent: 60 * MiB });
    expect(result.partsSent).toEqual(range(1, 12));
    expect(proxy.partsOf(result.sessionId).sort((a, b) => a - b)).toEqual(range(1, 12));
    // Progress: starts at 0, never goes back, ends at exactly the file.
    expect(seen[0]).toMatchObject({ bytesUploaded: 0, partsUploaded: 0, totalParts: 12, percent: 0, sessionId: result.sessionId });
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i].bytesUploaded).toBeGreaterThanOrEqual(seen[i - 1].bytesUploaded);
      expect(seen[i].partsUploaded).toBeGreaterThanOrEqual(seen[i - 1].partsUploaded);
      expect(seen[i].percent).toBeGreaterThanOrEqual(seen[i - 1].percent);
    }
    expect(seen.length).toBeGreaterThanOrEqual(13);
    expect(seen[seen.length - 1]).toMatchObject({ bytesUploaded: 60 * MiB, totalBytes: 60 * MiB, partsUploaded: 12, percent: 100, etaSeconds: 0 });
    expect(seen.every((p) => p.bytesPerSecond >= 0)).toBe(true);

    const done = await client.waitForSession(result.sessionId, { until: 'COMPLETED', timeoutMs: 60_000 });
    expect(done.jobs).toEqual([expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED', result: expect.objectContaining({ sha256: sha }) })]);
    expect(await storedSha256(done.objectKey as string)).toBe(sha);
  });

  it('streams of known size go up as one PUT or in parts; a group reports aggregate progress to 100%', async () => {
    const big = join(dir, 'stream.bin');
    const sha = await writeDeterministicFile(big, 12 * MiB, 'sdk-stream');
    const multipart = await client.uploadFile(createReadStream(big, { highWaterMark: 256 * 1024 }), {
      size: 12 * MiB,
      contentType: 'application/octet-stream',
    });
    expect(multipart).toMatchObject({ strategy: 'MULTIPART', partsSent: [1, 2, 3], bytesSent: 12 * MiB });
    const small = await client.uploadFile(Readable.from([Buffer.from('hello '), Buffer.from('stream')]), { size: 12, filename: 'hello.txt' });
    expect(small.strategy).toBe('SINGLE');
    expect((await client.waitForSession(small.sessionId, { until: 'COMPLETED' })).size).toBe(12);
    const done = await client.waitForSession(multipart.sessionId, { until: 'COMPLETED', timeoutMs: 60_000 });
    expect(await storedSha256(done.objectKey as string)).toBe(sha);

    const seen: { bytes: number; percent: number; files: number }[] = [];
    const group = await client.uploadGroup(
      [
        { source: big },
        { source: Buffer.from('a small note'), filename: 'note.txt' },
        { source: new Blob(['{"a":1}'], { type: 'application/json' }), filename: 'a.json' },
      ],
      { name: 'sdk group', onProgress: (p) => seen.push({ bytes: p.bytesUploaded, percent: p.percent, files: p.filesUploaded }) },
    );
    expect(group.failed).toBe(0);
    expect(group.files.map((f) => f.ok)).toEqual([true, true, true]);
    for (let i = 1; i < seen.length; i++) expect(seen[i].bytes).toBeGreaterThanOrEqual(seen[i - 1].bytes);
    expect(seen.at(-1)).toEqual({ bytes: 12 * MiB + 12 + 7, percent: 100, files: 3 });
    await waitFor(
      () => client.getGroup(group.group.id),
      (g) => g.status === 'COMPLETED',
      { timeoutMs: 60_000, what: 'the group COMPLETED' },
    );
  });

  it('waitForSession and waitForGroup follow the live streams: each change as it happens, no polling; a browser gets a stream ticket', async () => {
    const requests: string[] = [];
    const recording = new UploadClient({
      server: GATEWAY_URL,
      fetch: (url, init) => {
        requests.push(`${init?.method ?? 'GET'} ${new URL(String(url)).pathname}`);
        return fetch(url, init);
      },
    });
    // Start following as soon as the session exists, before its bytes are sent.
    let following = null as Promise<unknown> | null;
    const changes: string[] = [];
    const { sessionId } = await recording.uploadFile(Buffer.from('followed live'), {
      filename: 'live.txt',
      onSession: (s) => void (following = recording.waitForSession(s.sessionId, { onChange: (x) => changes.push(x.status) })),
    });
    expect(await following).toMatchObject({
      status: 'COMPLETED',
      jobs: [expect.objectContaining({ type: 'VALIDATION', status: 'COMPLETED', result: expect.objectContaining({ size: 13 }) })],
    });
    expect(changes.at(-1)).toBe('COMPLETED');
    expect(changes.length).toBeGreaterThan(1);
    expect(requests.filter((r) => r === `GET /v1/uploads/${sessionId}/events`)).toHaveLength(1);
    // At most the one read of the complete session at the end: no polling.
    expect(requests.filter((r) => r === `GET /v1/uploads/${sessionId}`).length).toBeLessThanOrEqual(1);

    const events: string[] = [];
    let group = null as Promise<unknown> | null;
    const uploaded = await recording.uploadGroup(
      [
        { source: Buffer.from('one'), filename: 'one.txt' },
        { source: Buffer.from('two'), filename: 'two.txt' },
      ],
      {
        name: 'followed',
        onGroup: (g) => void (group = recording.waitForGroup(g.id, { onEvent: (e) => events.push(e.kind === 'snapshot' ? 'snapshot' : e.event.type) })),
      },
    );
    expect(await group).toMatchObject({ status: 'COMPLETED', completedFiles: 2 });
    expect(events[0]).toBe('snapshot');
    expect(events.filter((e) => e === 'session.completed')).toHaveLength(2);
    expect(events.at(-1)).toBe('group.completed');
    expect(requests.filter((r) => r === `GET /v1/groups/${uploaded.group.id}`).length).toBeLessThanOrEqual(1);

    const ticket = await recording.streamTicket('session', sessionId);
    expect(ticket.url).toMatch(new RegExp(`^${GATEWAY_URL}/v1/uploads/${sessionId}/events\\?ticket=v1\\.`));
    const res = await fetch(ticket.url);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await res.text()).toMatch(/^retry: \d+\nevent: snapshot\ndata: \{.*"status":"COMPLETED"/);
  });

  it('with a bearer token: no upload token is needed, the user lists the session, someone else gets a typed 404', async () => {
    const alice = new UploadClient({ server: GATEWAY_URL, token: jwtFor('sdk-alice') });
    const result = await alice.uploadFile(Buffer.from('bearer upload'), { filename: 'bearer.txt' });
    expect(result.uploadToken).toBeUndefined();
    expect((await alice.waitForSession(result.sessionId, { until: 'COMPLETED' })).userId).toBe('sdk-alice');
    expect((await alice.listSessions()).items.map((s) => s.id)).toContain(result.sessionId);

    const bob = new UploadClient({ server: GATEWAY_URL, token: jwtFor('sdk-bob') });
    await expect(bob.getSession(result.sessionId)).rejects.toMatchObject({ name: 'GatewayError', statusCode: 404, code: 'SESSION_NOT_FOUND' });
    const invalid = await bob.uploadFile(Buffer.from('x'), { filename: 'a/b.txt' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(GatewayError);
    expect(invalid).toMatchObject({ statusCode: 400, details: [expect.objectContaining({ field: 'filename' })] });
  });

  it("runs in a browser (headless Chromium): a 12 MiB Blob goes up in parts with progress, from a page on the gateway's origin", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (the test never downloads a browser)`);
    const bundle = await build({
      entryPoints: [join(ROOT, 'libs/client/src/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'UploadSdk',
      write: false,
      logLevel: 'silent',
      external: ['node:fs'],
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // The page is served by the test (route.fulfill), so Chromium counts it as public and would refuse loopback URLs.
        '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights',
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      // A page served on the gateway's origin (the API needs no CORS then); the store's bucket CORS lets the parts through.
      await page.route(`${GATEWAY_URL}/sdk-test.html`, (route) =>
        route.fulfill({ contentType: 'text/html', body: `<!doctype html><script>${bundle.outputFiles[0].text}</script>` }),
      );
      await page.goto(`${GATEWAY_URL}/sdk-test.html`);
      const out = await page.evaluate(async (server) => {
        const sdk = (globalThis as unknown as { UploadSdk: typeof import('../../libs/client/src') }).UploadSdk;
        const bytes = new Uint8Array(12 * 1024 * 1024);
        for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
        const client = new sdk.UploadClient({ server });
        const percents: number[] = [];
        const r = await client.uploadFile(new File([bytes], 'browser.bin', { type: 'application/octet-stream' }), {
          onProgress: (p) => percents.push(p.percent),
        });
        const done = await client.waitForSession(r.sessionId, { until: 'COMPLETED', timeoutMs: 60_000 });
        const digest = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))));
        return { strategy: r.strategy, partsSent: r.partsSent, percents, status: done.status, objectKey: done.objectKey as string, digest };
      }, GATEWAY_URL);
      expect(errors).toEqual([]);
      expect(out).toMatchObject({ strategy: 'MULTIPART', partsSent: [1, 2, 3], status: 'COMPLETED' });
      expect(out.percents[0]).toBe(0);
      expect(out.percents.at(-1)).toBe(100);
      expect(await storedSha256(out.objectKey)).toBe(out.digest);
    } finally {
      await browser.close();
    }
  });

  it('retries a part the store fails with backoff, fetches a fresh URL after a 403, and completes', async () => {
    const path = join(dir, 'flaky.bin');
    const sha = await writeDeterministicFile(path, 20 * MiB, 'sdk-flaky');
    proxy.faults.push({ partNumber: 2, status: 500, times: 2 }, { partNumber: 3, status: 403, times: 1 });
    const signed: number[][] = [];
    const counting: typeof fetch = async (input, init) => {
      if (init?.method === 'POST' && String(input).endsWith('/parts')) signed.push(JSON.parse(String(init.body)).partNumbers);
      return fetch(input, init);
    };
    const attempts = new Map<number, number>();

    const flaky = new UploadClient({ server: GATEWAY_URL, fetch: counting });
    const result = await flaky.uploadFile(path, {
      concurrency: 2,
      backoffMs: 50,
      onPart: (e) => attempts.set(e.partNumber, e.attempts),
    });

    expect(proxy.statusesOf(result.sessionId, 2)).toEqual([500, 500, 200]);
    expect(proxy.statusesOf(result.sessionId, 3)).toEqual([403, 200]);
    expect(Object.fromEntries(attempts)).toEqual({ 1: 1, 2: 3, 3: 2, 4: 1 });
    // All four URLs came with the session; only part 3's was signed again.
    expect(signed).toEqual([[3]]);
    const done = await flaky.waitForSession(result.sessionId, { until: 'COMPLETED', timeoutMs: 60_000 });
    expect(await storedSha256(done.objectKey as string)).toBe(sha);
  });

  it('a part that keeps failing fails the upload with a typed error, and a resume in-process sends only the rest', async () => {
    const path = join(dir, 'stuck.bin');
    const sha = await writeDeterministicFile(path, 20 * MiB, 'sdk-stuck');
    proxy.faults.push({ partNumber: 4, status: 500, times: 3 });
    let sessionId = '';

    const error = await client
      .uploadFile(path, {
        concurrency: 1,
        maxAttempts: 3,
        backoffMs: 20,
        onSession: (s) => {
          sessionId = s.sessionId;
        },
      })
      .then(
        () => null,
        (e: unknown) => e,
      );

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ partNumber: 4, statusCode: 500, message: 'part 4 failed after 3 tries: HTTP 500 InternalError' });
    expect((await client.getSession(sessionId)).status).toMatch(/^(PENDING_UPLOAD|UPLOADING)$/);

    const mark = proxy.puts.length;
    const resumed = await client.uploadFile(path, { resume: sessionId });
    expect(resumed).toMatchObject({ sessionId, partsSkipped: [1, 2, 3], partsSent: [4] });
    expect(proxy.partsOf(sessionId, mark)).toEqual([4]);
    const done = await client.waitForSession(sessionId, { until: 'COMPLETED', timeoutMs: 60_000 });
    expect(await storedSha256(done.objectKey as string)).toBe(sha);
  });

  it('a cancel mid-way aborts the upload in storage: ListMultipartUploads shows nothing, the session is FAILED (ABORTED)', async () => {
    const path = join(dir, 'cancel.bin');
    await writeDeterministicFile(path, 30 * MiB, 'sdk-cancel');
    proxy.delayMs = 400;
    const controller = new AbortController();
    let sessionId = '';
    let objectKey = '';

    const upload = client.uploadFile(path, {
      concurrency: 2,
      signal: controller.signal,
      onSession: (s) => {
        sessionId = s.sessionId;
      },
      onPart: () => controller.abort(),
    });

    const error = await upload.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UploadCancelledError);
    expect(error).toMatchObject({ sessionId, abortedOnServer: true });
    const session = await client.getSession(sessionId);
    objectKey = session.objectKey as string;
    expect(session).toMatchObject({ status: 'FAILED', error: 'ABORTED' });
    expect(proxy.partsOf(sessionId).length).toBeLessThan(6);
    await waitFor(
      () => multipartUploadsUnder(`uploads/${sessionId}/`),
      (l) => l.length === 0,
      { what: 'no multipart upload left in the store' },
    );
    expect(objectKey).toContain(sessionId);
  });

  it('a client process killed mid-way (kill -9) resumes: only the parts storage lacks are sent', async () => {
    const path = join(dir, 'resume.bin');
    const sha = await writeDeterministicFile(path, 40 * MiB, 'sdk-resume');
    const stateDir = join(dir, 'cli-state');
    const env = { ...process.env, UPLOAD_SERVER: GATEWAY_URL, UPLOAD_STATE_DIR: stateDir };
    const stateFile = join(stateDir, 'state.json');
    const pendingSession = () =>
      existsSync(stateFile)
        ? (Object.values(JSON.parse(readFileSync(stateFile, 'utf8')).pending)[0] as { sessionId: string; uploadToken: string } | undefined)
        : undefined;

    // First run: slowed down, killed after some parts have reached the store.
    proxy.delayMs = 300;
    const first = spawn(process.execPath, [CLI, 'put', path, '--json', '--concurrency', '2', '--no-wait'], { env, stdio: 'ignore' });
    const exited = new Promise((r) => first.once('exit', r));
    const pending = await waitFor(
      async () => pendingSession(),
      (p) => p !== undefined && proxy.partsOf(p.sessionId).length >= 3,
      { timeoutMs: 60_000, what: 'three parts stored' },
    );
    first.kill('SIGKILL');
    await exited;
    await waitFor(
      async () => proxy.inFlight,
      (n) => n === 0,
      { what: "the killed client's PUTs to settle" },
    );

    const gateway = new Gateway({ server: GATEWAY_URL, uploadTokens: { [pending!.sessionId]: pending!.uploadToken } });
    const held = (await gateway.storedParts(pending!.sessionId)).map((p) => p.partNumber).sort((a, b) => a - b);
    expect(held.length).toBeGreaterThanOrEqual(3);
    expect(held.length).toBeLessThan(8);

    // Second run: the same command, at full speed.
    proxy.delayMs = 0;
    const mark = proxy.puts.length;
    const second = spawn(process.execPath, [CLI, 'put', path, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    second.stdout!.on('data', (c) => (stdout += c));
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).toBe(0);

    const sentNow = proxy.partsOf(pending!.sessionId, mark).sort((a, b) => a - b);
    expect(sentNow).toEqual(range(1, 8).filter((n) => !held.includes(n)));
    const out = JSON.parse(stdout);
    expect(out.files[0]).toMatchObject({ sessionId: pending!.sessionId, status: 'COMPLETED', resumed: true, partsSkipped: held, partsSent: sentNow });
    const done = await gateway.getUpload(pending!.sessionId);
    expect(await storedSha256(done.objectKey as string)).toBe(sha);
    // Finished: nothing left to resume.
    expect(pendingSession()).toBeUndefined();
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
