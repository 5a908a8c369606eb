import { randomBytes } from 'node:crypto';
import { System } from '../support/apps';
import { api, issuedUploadToken } from '../support/http';
import { GATEWAY_URL } from '../support/test-env';

jest.setTimeout(90_000);

const startUppy = (headers: Record<string, string>) =>
  api('POST', '/s3/multipart', { body: { filename: 'page.bin', type: 'application/octet-stream', metadata: {} }, headers });

/**
 * Issue 16 (low): the upload-token cookie of Uppy pages. Before, any client-chosen token bound Uppy sessions (a
 * sibling subdomain could fix a victim's token and later read their uploads), the cookie had no `Secure` nor
 * `__Host-` prefix over https, and it stood for the caller on every route. Now: tokens this gateway issued only,
 * `__Host-upload_token; Secure` over https (HTTP_TRUSTED_PROXIES decides what is https), read only on `/s3/*`, the
 * demo, and the demo's reads of its sessions.
 */
describe('security: the upload-token cookie (e2e)', () => {
  let system: System;

  beforeAll(async () => {
    // One proxy in front: X-Forwarded-Proto says whether the client came over https.
    system = await System.start({ JOB_TYPES: 'VALIDATION', HTTP_TRUSTED_PROXIES: '1' });
  });
  afterAll(async () => {
    await system?.stop();
  });

  it('a token the client chose binds nothing: cookie or header, 401; one the gateway issued works', async () => {
    const chosen = randomBytes(32).toString('base64url');
    const asCookie = await startUppy({ cookie: `upload_token=${chosen}` });
    expect(asCookie.status).toBe(401);
    expect(asCookie.body.message).toMatch(/upload token this gateway issued/);
    expect((await startUppy({ 'x-upload-token': chosen })).status).toBe(401);
    expect((await api('GET', '/s3/params?filename=a.png&type=image%2Fpng', { headers: { cookie: `upload_token=${chosen}` } })).status).toBe(401);
    // A forged one of the issued shape (right length, wrong MAC) neither.
    const issued = await issuedUploadToken();
    const forged = `${issued.slice(0, 43)}${randomBytes(32).toString('base64url')}`;
    expect((await startUppy({ cookie: `upload_token=${forged}` })).status).toBe(401);
    expect((await startUppy({ cookie: `upload_token=${issued}` })).status).toBe(200);
  });

  it('the demo replaces a cookie it did not issue, and keeps one it did', async () => {
    const fixated = await fetch(`${GATEWAY_URL}/demo`, { headers: { cookie: `upload_token=${randomBytes(32).toString('base64url')}` } });
    await fixated.arrayBuffer();
    expect(fixated.headers.getSetCookie()).toEqual([expect.stringMatching(/^upload_token=/)]);
    const issued = await issuedUploadToken();
    const kept = await fetch(`${GATEWAY_URL}/demo`, { headers: { cookie: `upload_token=${issued}` } });
    await kept.arrayBuffer();
    expect(kept.headers.getSetCookie()).toEqual([]);
  });

  it('over https the cookie is __Host-upload_token, Secure, HttpOnly, SameSite=Strict, Path=/, no Domain; the plain name is not read there', async () => {
    const res = await fetch(`${GATEWAY_URL}/demo`, { headers: { 'x-forwarded-proto': 'https' } });
    await res.arrayBuffer();
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(/^__Host-upload_token=[A-Za-z0-9_-]{86};/);
    const attributes = cookie
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=strict']));
    expect(attributes.some((a) => a.startsWith('domain='))).toBe(false);
    const token = cookie.split(';')[0].slice('__Host-upload_token='.length);
    const https = { 'x-forwarded-proto': 'https' };
    expect((await startUppy({ ...https, cookie: `__Host-upload_token=${token}` })).status).toBe(200);
    // A plain upload_token cookie (which a sibling subdomain can set) is ignored over https.
    expect((await startUppy({ ...https, cookie: `upload_token=${token}` })).status).toBe(401);
    // Over plain http no Secure cookie is set (a browser would not keep it there).
    const plain = await fetch(`${GATEWAY_URL}/demo`);
    await plain.arrayBuffer();
    expect(plain.headers.getSetCookie()[0].toLowerCase()).not.toContain('secure');
  });

  it('the cookie stands for the caller only on /s3/* and the demo’s reads: a write elsewhere ignores it', async () => {
    const token = await issuedUploadToken();
    const asPage = { headers: { cookie: `upload_token=${token}` } };
    const created = await api('POST', '/s3/multipart', { body: { filename: 'mine.bin', type: 'application/octet-stream', metadata: {} }, ...asPage });
    expect(created.status).toBe(200);
    const id = created.body.key.split('/')[1];
    // The demo reads its sessions with the cookie.
    expect((await api('GET', `/v1/uploads/${id}`, asPage)).status).toBe(200);
    // A write outside /s3/* with only the cookie is an anonymous stranger's: nothing happens.
    expect((await api('POST', `/v1/uploads/${id}/abort`, { body: {}, ...asPage })).status).toBe(404);
    expect((await api('DELETE', `/v1/uploads/${id}`, asPage)).status).toBe(404);
    expect((await api('GET', `/v1/uploads/${id}`, asPage)).body).toMatchObject({ status: 'PENDING_UPLOAD' });
    // The same token as a header (an explicit act of the client, not ambient authority) does.
    expect((await api('POST', `/v1/uploads/${id}/abort`, { body: {}, uploadToken: token })).status).toBe(200);
  });
});
