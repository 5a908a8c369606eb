import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { api } from '../support/http';
import { claims, JwksServer, keyPairs, signJwt } from '../support/jwks';
import { JWT_SECRET, PORT_BASE } from '../support/test-env';

jest.setTimeout(90_000);

const ISS = 'https://id.example.test/';
const AUD = 'uploads-api';
const APP_ORIGIN = 'https://app.example';
const keys = keyPairs();
const hs = { alg: 'HS256' as const, secret: JWT_SECRET };
const now = () => Math.floor(Date.now() / 1000);
const valid = (sub = `user-${randomUUID()}`, extra: Record<string, unknown> = {}) => claims(sub, { iss: ISS, aud: AUD, ...extra });
const FILE = { filename: 'a.txt', contentType: 'text/plain', size: 5 };

/**
 * Identity and HTTP hygiene, seen from outside: the gateway as a process, tokens from an HS256 secret and
 * from a JWKS served here over HTTP (RS256 and ES256 keys made with node:crypto), iss/aud required.
 * A second gateway runs with anonymous uploads off, tight rate limits and no CORS.
 */
describe('authentication and HTTP hygiene (e2e)', () => {
  let jwks: JwksServer;
  let gateway: RunningApp;
  let strict: RunningApp;
  const strictUrl = `http://127.0.0.1:${PORT_BASE + 10}`;

  beforeAll(async () => {
    jwks = await JwksServer.start([keys.rs256, keys.es256]);
    [gateway, strict] = await Promise.all([
      startApp('upload-gateway', {
        JWKS_URL: jwks.url,
        JWT_ISSUER: ISS,
        JWT_AUDIENCE: AUD,
        // Both kinds of token on one gateway: HS256 beside a JWKS needs saying so (issue 16).
        JWT_ALLOW_HS256_WITH_JWKS: 'true',
        CORS_ORIGINS: `${APP_ORIGIN},https://other.example`,
        HTTP_BODY_LIMIT: '64kb',
        PRESIGNED_URL_TTL_SECONDS: '60',
      }),
      startApp(
        'upload-gateway',
        { ANONYMOUS_UPLOADS: 'false', RATE_LIMIT_WRITES: '3', RATE_LIMIT_REQUESTS: '12', RATE_LIMIT_WINDOW_SECONDS: '60', CORS_ORIGINS: '' },
        { port: PORT_BASE + 10 },
      ),
    ]);
  });

  afterAll(async () => {
    await Promise.all([gateway && stopApp(gateway), strict && stopApp(strict)]);
    await jwks?.close();
  });

  describe('tokens', () => {
    it.each([
      ['HS256 (shared secret)', () => signJwt(valid(), hs)],
      ['RS256 (JWKS)', () => signJwt(valid(), keys.rs256)],
      ['ES256 (JWKS)', () => signJwt(valid(), keys.es256)],
    ])('accepts %s', async (_, token) => {
      const t = token();
      expect((await api('GET', '/v1/uploads', { token: t })).status).toBe(200);
      const created = await api('POST', '/v1/uploads', { token: t, body: FILE });
      expect(created.status).toBe(201);
      expect(created.body.uploadToken).toBeUndefined();
    });

    const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const swapPayload = (token: string) => {
      const [h, , s] = token.split('.');
      return `${h}.${Buffer.from(JSON.stringify(valid('victim', { roles: ['admin'] }))).toString('base64url')}.${s}`;
    };
    it.each<[string, () => string]>([
      ['expired', () => signJwt(valid(undefined, { exp: now() - 5 }), hs)],
      ['expired (RS256)', () => signJwt(valid(undefined, { exp: now() - 5 }), keys.rs256)],
      ['not yet valid (nbf)', () => signJwt(valid(undefined, { nbf: now() + 300 }), keys.es256)],
      ['tampered (HS256)', () => swapPayload(signJwt(valid(), hs))],
      ['tampered (RS256)', () => swapPayload(signJwt(valid(), keys.rs256))],
      ['tampered (ES256)', () => swapPayload(signJwt(valid(), keys.es256))],
      ['signed with another secret', () => signJwt(valid(), { alg: 'HS256', secret: 'not-the-secret-0123456789' })],
      ['signed by another RSA key under a known kid', () => signJwt(valid(), { alg: 'RS256', privateKey: otherRsa.privateKey, kid: keys.rs256.kid })],
      ['an unknown kid', () => signJwt(valid(), { alg: 'RS256', privateKey: otherRsa.privateKey, kid: 'nope' })],
      ['alg: none', () => signJwt(valid(undefined, { roles: ['admin'] }), { alg: 'none' })],
      [
        'HS256 keyed with the RSA public key (algorithm confusion)',
        () => signJwt(valid(), { alg: 'HS256', secret: keys.rs256.publicKey.export({ type: 'spki', format: 'pem' }).toString(), kid: keys.rs256.kid }),
      ],
      ['the wrong issuer', () => signJwt(valid(undefined, { iss: 'https://evil.example/' }), keys.rs256)],
      ['the wrong audience', () => signJwt(valid(undefined, { aud: 'someone-else' }), hs)],
      ['no sub', () => signJwt({ iss: ISS, aud: AUD, exp: now() + 60 }, hs)],
    ])('refuses a token %s with 401 on every route', async (_, token) => {
      const t = token();
      for (const [method, path, body] of [
        ['GET', '/v1/uploads', undefined],
        ['POST', '/v1/uploads', FILE],
        ['GET', `/v1/uploads/${randomUUID()}`, undefined],
      ] as const) {
        const res = await api(method, path, { token: t, body });
        expect({ path, status: res.status }).toEqual({ path, status: 401 });
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', code: 'UNAUTHENTICATED' });
        expect(JSON.stringify(res.body)).not.toContain(t.split('.')[2] || t.split('.')[1]);
      }
    });

    it.each([
      ['Basic …', 'Basic dXNlcjpwYXNz'],
      ['Bearer', 'Bearer'],
      ['Bearer not-a-jwt', 'Bearer not-a-jwt'],
      ['Bearer with two segments', 'bearer a.b'],
      ['Token <valid jwt>', `Token ${signJwt(valid(), hs)}`],
    ])('refuses Authorization: %s', async (_, value) => {
      const res = await api('GET', '/v1/uploads', { headers: { authorization: value } });
      expect(res.status).toBe(401);
    });

    it('health probes need no token, and a bad one does not break them', async () => {
      expect((await api('GET', '/health/live')).status).toBe(200);
      expect((await api('GET', '/health/ready', { token: 'a.b.c' })).status).toBe(200);
    });
  });

  describe('hygiene', () => {
    it('sends security headers on every answer, and no X-Powered-By', async () => {
      for (const res of [
        await api('GET', '/v1/uploads', { token: signJwt(valid(), hs) }),
        await api('GET', '/v1/uploads', { token: 'x.y.z' }),
        await api('GET', '/nothing'),
      ]) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('x-powered-by')).toBeNull();
      }
    });

    it('answers CORS for the configured origins only', async () => {
      const preflight = (origin: string, base?: string) =>
        api('OPTIONS', '/v1/uploads', {
          baseUrl: base,
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-upload-token' },
        });
      const ok = await preflight(APP_ORIGIN);
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('x-upload-token');
      expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
      const simple = await api('GET', '/v1/uploads', { token: signJwt(valid(), hs), headers: { origin: APP_ORIGIN } });
      expect(simple.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
      // CORS_ORIGINS empty: no CORS headers at all.
      expect((await preflight(APP_ORIGIN, strictUrl)).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('refuses a body above HTTP_BODY_LIMIT with 413, and keeps serving', async () => {
      const res = await api('POST', '/v1/uploads', { rawBody: JSON.stringify({ ...FILE, metadata: { k: 'x'.repeat(70_000) } }) });
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ statusCode: 413, message: 'body is too large' });
      expect((await api('GET', '/health/ready')).status).toBe(200);
    });

    it('signs pre-signed URLs for PRESIGNED_URL_TTL_SECONDS', async () => {
      const res = await api('POST', '/v1/uploads', { body: FILE });
      expect(res.status).toBe(201);
      expect(new URL(res.body.upload.url).searchParams.get('X-Amz-Expires')).toBe('60');
      expect(Math.abs(Date.parse(res.body.upload.expiresAt) - (Date.now() + 60_000))).toBeLessThan(10_000);
    });
  });

  describe('with anonymous uploads off and tight rate limits', () => {
    it('writes are limited per user: the 4th is a 429 with Retry-After; another user and reads are unaffected; health is never limited', async () => {
      const x = signJwt(valid(`rate-x-${randomUUID()}`), hs);
      const y = signJwt(valid(`rate-y-${randomUUID()}`), hs);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await api('POST', '/v1/uploads', { baseUrl: strictUrl, token: x, body: FILE })).status);
      expect(statuses).toEqual([201, 201, 201, 429]);
      const limited = await api('POST', '/v1/uploads', { baseUrl: strictUrl, token: x, body: FILE });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      expect(limited.body.message).toMatch(/at most 3 .* per 60 s/);
      expect((await api('POST', '/v1/uploads', { baseUrl: strictUrl, token: y, body: FILE })).status).toBe(201);
      expect((await api('GET', '/v1/uploads', { baseUrl: strictUrl, token: x })).status).toBe(200);
      expect((await api('GET', '/health/live', { baseUrl: strictUrl })).status).toBe(200);
    });

    // The only test that spends anonymous writes from 127.0.0.1 on this gateway: it owns the address's window.
    it('an anonymous create is a 401 that says how to authenticate; anonymous callers are counted by client IP, and a forged X-Forwarded-For does not reset the count', async () => {
      const first = await api('POST', '/v1/uploads', { baseUrl: strictUrl, body: FILE, headers: { 'x-forwarded-for': '10.0.0.1' } });
      expect(first.status).toBe(401);
      expect(first.body.message).toMatch(/Anonymous uploads are disabled/);
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        statuses.push((await api('POST', '/v1/uploads', { baseUrl: strictUrl, body: FILE, headers: { 'x-forwarded-for': `10.0.0.${i + 2}` } })).status);
      }
      expect(statuses).toEqual([401, 401, 429]);
    });

    it('all requests of a caller are limited too (RATE_LIMIT_REQUESTS)', async () => {
      const z = signJwt(valid(`rate-z-${randomUUID()}`), hs);
      const statuses: number[] = [];
      for (let i = 0; i < 13; i++) statuses.push((await api('GET', '/v1/uploads', { baseUrl: strictUrl, token: z })).status);
      expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
      expect(statuses[12]).toBe(429);
    });
  });
});
