import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { logFileOf, RunningApp, startApp, stopApp } from '../support/apps';
import { api } from '../support/http';
import { claims, JwksServer, keyPairs, signJwt } from '../support/jwks';
import { waitFor } from '../support/poll';
import { JWT_SECRET, PORT_BASE } from '../support/test-env';

jest.setTimeout(90_000);

const ISS = 'https://id.example.test/';
const AUD = 'uploads-api';
const keys = keyPairs();
const now = () => Math.floor(Date.now() / 1000);
const FILE = { filename: 'a.txt', contentType: 'text/plain', size: 5 };

/**
 * Issue 16, HIGH 2 and MEDIUM 5, against the gateway as a process: with a JWKS configured (and JWT_SECRET still
 * set, as the test environment does) an HS256 token is no key; tokens must expire, and not too far ahead; a token
 * the identity provider signed with a generic `roles: ["admin"]` is not an admin here. And a gateway given a
 * placeholder JWT_SECRET does not start.
 */
describe('security: bearer tokens (e2e)', () => {
  let jwks: JwksServer;
  let gateway: RunningApp;
  const valid = (sub: string, extra: Record<string, unknown> = {}) => claims(sub, { iss: ISS, aud: AUD, ...extra });

  beforeAll(async () => {
    jwks = await JwksServer.start([keys.rs256, keys.es256]);
    gateway = await startApp(
      'upload-gateway',
      { JWKS_URL: jwks.url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD, JWT_MAX_AGE_SECONDS: '3600' },
      { port: PORT_BASE + 20 },
    );
  });

  afterAll(async () => {
    if (gateway) await stopApp(gateway);
    await jwks?.close();
  });

  const call = (method: string, path: string, token: string, body?: unknown) =>
    api(method, path, { token, body, baseUrl: `http://127.0.0.1:${PORT_BASE + 20}` });

  it.each<[string, () => string]>([
    [
      'HS256 signed with JWT_SECRET, while a JWKS is configured',
      () => signJwt(valid(`u-${randomUUID()}`, { upload_platform_roles: ['admin'] }), { alg: 'HS256', secret: JWT_SECRET }),
    ],
    ['RS256 without exp', () => signJwt({ sub: `u-${randomUUID()}`, iss: ISS, aud: AUD }, keys.rs256)],
    ['RS256 that lives 30 days', () => signJwt(valid(`u-${randomUUID()}`, { exp: now() + 30 * 86400 }), keys.rs256)],
    ['RS256 issued 2 hours ago for 3 hours', () => signJwt(valid(`u-${randomUUID()}`, { iat: now() - 7200, exp: now() + 3600 }), keys.rs256)],
  ])('refuses %s with 401', async (_, token) => {
    const t = token();
    for (const [method, path, body] of [
      ['GET', '/v1/uploads', undefined],
      ['POST', '/v1/uploads', FILE],
    ] as const) {
      const res = await call(method, path, t, body);
      expect({ path, status: res.status, code: res.body?.code }).toEqual({ path, status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('a generic roles: ["admin"] from the identity provider grants nothing; this service\'s own claim does', async () => {
    const owner = signJwt(valid(`owner-${randomUUID()}`), keys.rs256);
    const created = await call('POST', '/v1/uploads', owner, FILE);
    expect(created.status).toBe(201);
    const generic = signJwt(valid(`other-${randomUUID()}`, { roles: ['admin'] }), keys.es256);
    expect((await call('GET', `/v1/uploads/${created.body.id}`, generic)).status).toBe(404);
    const admin = signJwt(valid(`admin-${randomUUID()}`, { upload_platform_roles: ['admin'] }), keys.es256);
    expect((await call('GET', `/v1/uploads/${created.body.id}`, admin)).status).toBe(200);
  });

  it.each([['REPLACE_ME'], ['too-short-secret'], ['changeme-changeme-changeme-changeme']])(
    'does not start with JWT_SECRET=%s (anonymous uploads on, a JWKS set)',
    async (secret) => {
      const app = await startApp(
        'upload-gateway',
        { JWT_SECRET: secret, JWKS_URL: jwks.url, JWT_ISSUER: ISS, JWT_AUDIENCE: AUD, ANONYMOUS_UPLOADS: 'true' },
        { port: PORT_BASE + 21, waitReady: false },
      );
      const code = await app.exited;
      expect(code).not.toBe(0);
      const log = await waitFor(
        async () => readFileSync(logFileOf(app), 'utf8'),
        (text) => /JWT_SECRET/.test(text),
        { what: 'the refusal in the log' },
      );
      expect(log).toMatch(/JWT_SECRET (must be at least 32 bytes|is a placeholder)/);
    },
  );
});
