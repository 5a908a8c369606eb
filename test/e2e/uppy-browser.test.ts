import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { System } from '../support/apps';
import { pngBytes } from '../support/builders';
import { getUpload, waitForStatus } from '../support/flows';
import { api, issuedUploadToken } from '../support/http';
import { multipartUploadsUnder, objectExists, putPart, storedSha256 } from '../support/multipart';
import { waitFor } from '../support/poll';
import { GATEWAY_URL, NS, ROOT } from '../support/test-env';
import { createHash, randomBytes } from 'node:crypto';

jest.setTimeout(180_000);

const MiB = 1024 ** 2;
const CHROMIUM = '/usr/bin/chromium';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/**
 * Uppy in a real browser against the gateway: the /demo page (Dashboard + @uppy/aws-s3 with the gateway as
 * its Companion endpoint) uploads three files, one above the multipart threshold. Before that, the /s3/*
 * routes are called the way the plugin calls them, to pin their shapes and status codes.
 */
describe('Uppy (e2e)', () => {
  let system: System;
  let uppyToken: string;
  let asPage: { headers: { cookie: string } };

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION', MULTIPART_THRESHOLD_BYTES: String(5 * MiB) });
    uppyToken = await issuedUploadToken();
    asPage = { headers: { cookie: `upload_token=${uppyToken}` } };
  });

  afterAll(async () => {
    await system?.stop();
  });

  describe("Companion's S3 routes, as @uppy/aws-s3 calls them", () => {
    it('multipart: create, sign each part, list, complete → a COMPLETED session with the bytes sent', async () => {
      const bytes = randomBytes(5 * MiB + 1000);
      const created = await api('POST', '/s3/multipart', {
        body: { filename: 'clip.bin', type: 'application/octet-stream', metadata: { name: 'clip.bin', type: 'application/octet-stream', relativePath: null } },
        ...asPage,
      });
      expect(created.status).toBe(200);
      expect(created.body).toEqual({
        key: expect.stringMatching(/^uploads\/[0-9a-f-]{36}\/clip\.bin$/),
        uploadId: expect.any(String),
        bucket: expect.any(String),
      });
      const { key, uploadId } = created.body;
      const q = `key=${encodeURIComponent(key)}`;
      const etags: string[] = [];
      for (const [n, chunk] of [
        [1, bytes.subarray(0, 5 * MiB)],
        [2, bytes.subarray(5 * MiB)],
      ] as const) {
        const signed = await api('GET', `/s3/multipart/${encodeURIComponent(uploadId)}/${n}?${q}`, asPage);
        expect(signed.status).toBe(200);
        expect(signed.body).toEqual({ url: expect.stringMatching(/^http/), expires: expect.any(Number) });
        const put = await putPart(signed.body.url, chunk);
        expect(put.status).toBe(200);
        etags.push(put.etag!);
      }
      const listed = await api('GET', `/s3/multipart/${encodeURIComponent(uploadId)}?${q}`, asPage);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual([
        expect.objectContaining({ PartNumber: 1, ETag: etags[0], Size: 5 * MiB }),
        expect.objectContaining({ PartNumber: 2, ETag: etags[1], Size: 1000 }),
      ]);
      const batch = await api('GET', `/s3/multipart/${encodeURIComponent(uploadId)}/batch?${q}&partNumbers=1,2`, asPage);
      expect(batch.status).toBe(200);
      expect(Object.keys(batch.body.presignedUrls)).toEqual(['1', '2']);
      // The batch-signed URLs work as Uppy uses them: each part sent again through its URL, the same bytes, the same ETag.
      for (const [n, chunk] of [
        [1, bytes.subarray(0, 5 * MiB)],
        [2, bytes.subarray(5 * MiB)],
      ] as const) {
        const again = await putPart(batch.body.presignedUrls[String(n)], chunk);
        expect(again).toEqual({ status: 200, etag: etags[n - 1] });
      }

      const done = await api('POST', `/s3/multipart/${encodeURIComponent(uploadId)}/complete?${q}`, {
        body: { parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
        ...asPage,
      });
      expect(done.status).toBe(200);
      expect(done.body).toEqual({ location: expect.stringContaining(key.split('/')[1]), key, bucket: created.body.bucket });
      const sessionId = key.split('/')[1];
      const final = await waitForStatus(sessionId, { uploadToken: uppyToken }, ['COMPLETED', 'FAILED']);
      expect(final).toMatchObject({ status: 'COMPLETED', size: bytes.length, totalParts: 2, completedParts: 2 });
      expect(await storedSha256(key)).toBe(sha256(bytes));
    });

    it('single: GET /s3/params gives a POST-policy form the store enforces; the session takes the stored size', async () => {
      const bytes = pngBytes(16, 16);
      const params = await api(
        'GET',
        `/s3/params?filename=${encodeURIComponent('pic.png')}&type=image%2Fpng&metadata%5Bname%5D=pic.png&metadata%5Bcaption%5D=hello`,
        asPage,
      );
      expect(params.status).toBe(200);
      expect(params.body).toEqual({
        method: 'POST',
        url: expect.stringMatching(/^http/),
        fields: expect.objectContaining({ key: expect.stringMatching(/\/pic\.png$/), 'Content-Type': 'image/png' }),
        expires: expect.any(Number),
      });
      const form = new FormData();
      for (const [k, v] of Object.entries(params.body.fields as Record<string, string>)) form.append(k, v);
      form.append('file', new Blob([bytes], { type: 'image/png' }), 'pic.png');
      const posted = await fetch(params.body.url, { method: 'POST', body: form });
      await posted.arrayBuffer();
      expect(posted.status).toBe(201);
      const sessionId = params.body.fields.key.split('/')[1];
      const final = await waitForStatus(sessionId, { uploadToken: uppyToken }, ['COMPLETED', 'FAILED']);
      expect(final).toMatchObject({ status: 'COMPLETED', size: bytes.length, metadata: { caption: 'hello' } });
    });

    it('abort: DELETE leaves nothing in the store and the session FAILED (ABORTED)', async () => {
      const created = await api('POST', '/s3/multipart', { body: { filename: 'gone.bin', type: 'application/octet-stream', metadata: {} }, ...asPage });
      const { key, uploadId } = created.body;
      const signed = await api('GET', `/s3/multipart/${encodeURIComponent(uploadId)}/1?key=${encodeURIComponent(key)}`, asPage);
      expect((await putPart(signed.body.url, randomBytes(5 * MiB))).status).toBe(200);
      const del = await api('DELETE', `/s3/multipart/${encodeURIComponent(uploadId)}?key=${encodeURIComponent(key)}`, asPage);
      expect(del.status).toBe(200);
      expect(del.body).toEqual({});
      expect(await multipartUploadsUnder(key)).toEqual([]);
      expect(await objectExists(key)).toBe(false);
      expect(await getUpload(key.split('/')[1], { uploadToken: uppyToken })).toMatchObject({ status: 'FAILED', error: 'ABORTED' });
    });

    it('answers bad requests with a 4xx, and others’ uploads with a 404', async () => {
      const created = await api('POST', '/s3/multipart', { body: { filename: 'mine.bin', type: 'application/octet-stream' }, ...asPage });
      const { key, uploadId } = created.body;
      const u = encodeURIComponent(uploadId);
      expect((await api('GET', `/s3/multipart/${u}/1`, asPage)).status).toBe(400); // no key
      expect((await api('GET', `/s3/multipart/${u}/0?key=${encodeURIComponent(key)}`, asPage)).status).toBe(400);
      expect((await api('GET', `/s3/multipart/${u}/10001?key=${encodeURIComponent(key)}`, asPage)).status).toBe(400);
      expect((await api('GET', `/s3/multipart/${u}/batch?key=${encodeURIComponent(key)}`, asPage)).status).toBe(400); // no partNumbers
      expect(
        (await api('POST', `/s3/multipart/${u}/complete?key=${encodeURIComponent(key)}`, { body: { parts: [{ PartNumber: '1' }] }, ...asPage })).status,
      ).toBe(400);
      expect((await api('POST', '/s3/multipart', { body: { filename: 'x.bin' }, ...asPage })).status).toBe(400); // no type
      // Another page (another token), a wrong key, or no token at all: not found / not allowed.
      const other = { headers: { cookie: `upload_token=${randomBytes(32).toString('base64url')}` } };
      expect((await api('GET', `/s3/multipart/${u}?key=${encodeURIComponent(key)}`, other)).status).toBe(404);
      expect((await api('GET', `/s3/multipart/${u}?key=uploads/other`, asPage)).status).toBe(404);
      expect((await api('POST', '/s3/multipart', { body: { filename: 'x.bin', type: 'application/octet-stream' } })).status).toBe(401);
      expect((await api('GET', `/s3/multipart/${u}?key=${encodeURIComponent(key)}`, asPage)).status).toBe(200);
    });

    it('answers CORS pre-flights and exposes ETag', async () => {
      const res = await fetch(`${GATEWAY_URL}/s3/multipart`, {
        method: 'OPTIONS',
        headers: { origin: 'http://example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(res.status).toBeLessThan(300);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      const get = await fetch(`${GATEWAY_URL}/health/live`, { headers: { origin: 'http://example.test' } });
      expect(get.headers.get('access-control-expose-headers')).toContain('ETag');
    });
  });

  describe('the /demo page in headless Chromium', () => {
    let browser: Browser;
    let dir: string;

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (the test never downloads a browser)`);
      dir = mkdtempSync(join(tmpdir(), 'mp-uppy-'));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('uploads three files through Uppy, one of them multipart; all three sessions reach COMPLETED, shown live from the event streams', async () => {
      const page = await browser.newPage();
      // Generous: CI machines are small and shared.
      page.setDefaultTimeout(90_000);
      const pageErrors: string[] = [];
      const consoleLines: string[] = [];
      // The network log: every request the page makes to the gateway's API.
      const requests: { method: string; path: string }[] = [];
      page.on('request', (r) => {
        const url = new URL(r.url());
        if (url.origin === GATEWAY_URL && url.pathname.startsWith('/v1/')) requests.push({ method: r.method(), path: url.pathname });
      });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('requestfailed', (r) => consoleLines.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
      const loaded = await page.goto(`${GATEWAY_URL}/demo`);
      expect(loaded?.status()).toBe(200);
      await page.waitForSelector('.uppy-Dashboard-AddFiles').catch((e: Error) => {
        throw new Error(`the Dashboard did not appear: ${e.message}\npage errors: ${pageErrors.join('; ')}\nconsole: ${consoleLines.join('\n')}`);
      });
      const files = [
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the demo page\n') },
        { name: 'dot.png', mimeType: 'image/png', buffer: pngBytes(32, 32) },
        { name: 'large.bin', mimeType: 'application/octet-stream', buffer: randomBytes(12 * MiB + 321) },
      ];
      await page.setInputFiles('.uppy-Dashboard-input >> nth=0', files);
      await page.locator('.uppy-StatusBar-actionBtn--upload').click();

      const statuses = await waitFor(
        () =>
          page.$$eval('#sessions tr', (trs) =>
            trs.map((tr) => ({
              name: tr.getAttribute('data-file-name'),
              session: tr.getAttribute('data-session-id'),
              status: tr.querySelector('.status')?.getAttribute('data-status'),
              via: tr.getAttribute('data-via'),
              history: tr.getAttribute('data-history'),
              jobs: tr.querySelector('.jobs')?.textContent,
              text: tr.textContent,
            })),
          ),
        (rows) => rows.length === 3 && rows.every((r) => r.status === 'COMPLETED' || r.status === 'FAILED' || r.status === 'ERROR'),
        { timeoutMs: 120_000, intervalMs: 500, what: 'three sessions to finish on the page' },
      );
      // Kept for a person to look at: .e2e/<namespace>/uppy-demo.png
      await page.screenshot({ path: join(ROOT, '.e2e', NS, 'uppy-demo.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
      expect(statuses.map((r) => [r.name, r.status])).toEqual(
        expect.arrayContaining([
          ['notes.txt', 'COMPLETED'],
          ['dot.png', 'COMPLETED'],
          ['large.bin', 'COMPLETED'],
        ]),
      );

      // Live from the stream: one event stream per session, no status polling at all; each job's outcome shown.
      for (const r of statuses) {
        expect({ name: r.name, via: r.via, jobs: r.jobs }).toEqual({ name: r.name, via: 'stream', jobs: 'VALIDATION: COMPLETED' });
        expect(r.history!.split(' ').pop()).toBe('COMPLETED');
        expect(requests.filter((q) => q.path === `/v1/uploads/${r.session}/events`)).toEqual([{ method: 'GET', path: `/v1/uploads/${r.session}/events` }]);
      }
      const polls = requests.filter((q) => /^\/v1\/uploads\/[0-9a-f-]{36}$/.test(q.path));
      expect(polls).toEqual([]);

      // What the page shows is what the API says; the large one went up in parts, the others in one request.
      const token = (await page.context().cookies()).find((c) => c.name === 'upload_token')!.value;
      for (const f of files) {
        const row = statuses.find((r) => r.name === f.name)!;
        const session = await getUpload(row.session!, { uploadToken: token });
        expect(session).toMatchObject({ status: 'COMPLETED', filename: f.name, size: f.buffer.length });
        expect(session.uploadId !== null).toBe(f.name === 'large.bin');
        if (f.name === 'large.bin') expect(session.totalParts).toBe(3);
        expect(await storedSha256(session.objectKey)).toBe(sha256(f.buffer));
      }
      await page.close();
    });
  });
});
