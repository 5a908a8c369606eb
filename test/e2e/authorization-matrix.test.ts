import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { anUpload, textBytes } from '../support/builders';
import { Caller, sendBytes, waitForStatus } from '../support/flows';
import { System } from '../support/apps';
import { api, ApiResponse, issuedUploadToken, jwtFor } from '../support/http';
import { NS, ROOT } from '../support/test-env';

jest.setTimeout(240_000);

/**
 * Who may do what, route by route. Each row of ROUTES is one route; every row is called by each CALLER
 * against a resource owned by a user (B) and against one created anonymously, and must answer:
 * - the owner, then an admin: exactly the row's `owner` and `admin` statuses (the owner's call comes first, so a
 *   destructive route's admin answer is its answer on a resource the owner already changed);
 * - anyone else (user A, anonymous without a token, with a wrong token, a user on an anonymous resource):
 *   404 (or 401 where no identity was presented at all), with a body that reveals nothing of the owner's data.
 * A new route is one more line in ROUTES. Every row asserts (expect.hasAssertions): a route the router does not
 * know, or a fixture that cannot be built, fails its row.
 */

type FixtureKind = 'session' | 'multipart' | 'uploaded' | 'job' | 'group' | 'uppy';

/** What a row may use of one owner's resources (built per row, so a destructive row spoils nothing else). */
interface Fixture {
  sessionId: string;
  objectKey: string;
  jobId: string;
  groupId: string;
  uppy: { uploadId: string; key: string };
  /** Strings of the owner's data that must never appear in an answer to someone else. */
  secrets: string[];
}

interface Row {
  route: string;
  needs: FixtureKind;
  method: 'GET' | 'POST' | 'DELETE';
  path: (f: Fixture) => string;
  body?: (f: Fixture) => unknown;
  /** The owner's status, on the fixture as built. */
  owner: number;
  /** An admin's status, called after the owner (defaults to the owner's). */
  admin?: number;
}

const FILE = (name: string) => ({ filename: name, contentType: 'text/plain', size: 5 });
const q = (f: Fixture) => `key=${encodeURIComponent(f.uppy.key)}`;

// prettier-ignore
const ROUTES: Row[] = [
  { route: 'GET /v1/uploads/:id',                       needs: 'session',  method: 'GET',    path: (f) => `/v1/uploads/${f.sessionId}`, owner: 200 },
  { route: 'POST /v1/uploads/:id/parts',                needs: 'multipart', method: 'POST',  path: (f) => `/v1/uploads/${f.sessionId}/parts`, body: () => ({ partNumbers: [1] }), owner: 200 },
  { route: 'GET /v1/uploads/:id/parts',                 needs: 'multipart', method: 'GET',   path: (f) => `/v1/uploads/${f.sessionId}/parts`, owner: 200 },
  { route: 'POST /v1/uploads/:id/complete',             needs: 'multipart', method: 'POST',  path: (f) => `/v1/uploads/${f.sessionId}/complete`, body: () => ({}), owner: 409 },
  { route: 'POST /v1/uploads/:id/abort',                needs: 'multipart', method: 'POST',  path: (f) => `/v1/uploads/${f.sessionId}/abort`, body: () => ({}), owner: 200 },
  { route: 'POST /v1/uploads/:id/abort (single PUT)',   needs: 'session',  method: 'POST',   path: (f) => `/v1/uploads/${f.sessionId}/abort`, body: () => ({}), owner: 200 },
  { route: 'DELETE /v1/uploads/:id',                    needs: 'uploaded', method: 'DELETE', path: (f) => `/v1/uploads/${f.sessionId}`, owner: 200 },
  { route: 'GET /v1/uploads/:id/download',              needs: 'uploaded', method: 'GET',    path: (f) => `/v1/uploads/${f.sessionId}/download`, owner: 200 },
  { route: 'GET /v1/uploads/:id/jobs',                  needs: 'uploaded', method: 'GET',    path: (f) => `/v1/uploads/${f.sessionId}/jobs`, owner: 200 },
  { route: 'POST /v1/uploads/:id/jobs',                 needs: 'uploaded', method: 'POST',   path: (f) => `/v1/uploads/${f.sessionId}/jobs`, body: () => ({ type: 'CHECKSUM' }), owner: 201 },
  { route: 'POST /v1/jobs/:id/retry',                   needs: 'job',      method: 'POST',   path: (f) => `/v1/jobs/${f.jobId}/retry`, body: () => ({}), owner: 409 },
  { route: 'POST /v1/jobs/:id/cancel',                  needs: 'job',      method: 'POST',   path: (f) => `/v1/jobs/${f.jobId}/cancel`, body: () => ({}), owner: 409 },
  // A finished session's stream ends after its snapshot (an open group's would not: see live-events.test.ts).
  { route: 'GET /v1/uploads/:id/events',                needs: 'uploaded', method: 'GET',    path: (f) => `/v1/uploads/${f.sessionId}/events`, owner: 200 },
  { route: 'POST /v1/uploads/:id/events/tickets',       needs: 'session',  method: 'POST',   path: (f) => `/v1/uploads/${f.sessionId}/events/tickets`, body: () => ({}), owner: 201 },
  { route: 'POST /v1/groups/:id/events/tickets',        needs: 'group',    method: 'POST',   path: (f) => `/v1/groups/${f.groupId}/events/tickets`, body: () => ({}), owner: 201 },
  { route: 'GET /v1/groups/:id',                        needs: 'group',    method: 'GET',    path: (f) => `/v1/groups/${f.groupId}`, owner: 200 },
  { route: 'GET /v1/groups/:id/uploads',                needs: 'group',    method: 'GET',    path: (f) => `/v1/groups/${f.groupId}/uploads`, owner: 200 },
  { route: 'POST /v1/groups/:id/uploads',               needs: 'group',    method: 'POST',   path: (f) => `/v1/groups/${f.groupId}/uploads`, body: () => FILE('added.txt'), owner: 201 },
  { route: 'POST /v1/groups/:id/cancel',                needs: 'group',    method: 'POST',   path: (f) => `/v1/groups/${f.groupId}/cancel`, body: () => ({}), owner: 200 },
  { route: 'POST /v1/uploads (into a group)',           needs: 'group',    method: 'POST',   path: () => `/v1/uploads`, body: (f) => ({ ...FILE('into-group.txt'), groupId: f.groupId }), owner: 201 },
  { route: 'GET /s3/multipart/:uploadId',               needs: 'uppy',     method: 'GET',    path: (f) => `/s3/multipart/${encodeURIComponent(f.uppy.uploadId)}?${q(f)}`, owner: 200 },
  { route: 'GET /s3/multipart/:uploadId/batch',         needs: 'uppy',     method: 'GET',    path: (f) => `/s3/multipart/${encodeURIComponent(f.uppy.uploadId)}/batch?${q(f)}&partNumbers=1`, owner: 200 },
  { route: 'GET /s3/multipart/:uploadId/:partNumber',   needs: 'uppy',     method: 'GET',    path: (f) => `/s3/multipart/${encodeURIComponent(f.uppy.uploadId)}/1?${q(f)}`, owner: 200 },
  { route: 'POST /s3/multipart/:uploadId/complete',     needs: 'uppy',     method: 'POST',   path: (f) => `/s3/multipart/${encodeURIComponent(f.uppy.uploadId)}/complete?${q(f)}`, body: () => ({ parts: [] }), owner: 400 },
  { route: 'DELETE /s3/multipart/:uploadId',            needs: 'uppy',     method: 'DELETE', path: (f) => `/s3/multipart/${encodeURIComponent(f.uppy.uploadId)}?${q(f)}`, owner: 200 },
];

type CallerName = 'owner' | 'admin' | 'userA' | 'anonNoToken' | 'anonWrongToken';
const DENIED: CallerName[] = ['userA', 'anonNoToken', 'anonWrongToken'];

const userA = jwtFor(`user-a-${randomUUID()}`);
const userB = `user-b-${randomUUID()}`;
const tokenB = jwtFor(userB);
const admin = jwtFor(`admin-${randomUUID()}`, { roles: ['admin'] });

/** The two kinds of owner: a signed-in user (B), and an anonymous caller holding the upload token. */
type Owner = { kind: 'user B'; caller: Caller } | { kind: 'anonymous'; caller: Caller };

function callerFor(name: CallerName, owner: Caller): Caller {
  switch (name) {
    case 'owner':
      return owner;
    case 'admin':
      return { token: admin };
    case 'userA':
      return { token: userA };
    case 'anonNoToken':
      return {};
    case 'anonWrongToken':
      return { uploadToken: 'not-the-right-upload-token' };
  }
}

/** Builds what the row needs, owned by `owner` (ids it does not need stay random). */
async function fixture(needs: FixtureKind, owner: Owner): Promise<Fixture & { caller: Caller }> {
  const marker = `${owner.kind === 'anonymous' ? 'anon' : 'userb'}-secret-${randomUUID().slice(0, 8)}`;
  const f: Fixture & { caller: Caller } = {
    sessionId: randomUUID(),
    objectKey: `none-${marker}`,
    jobId: randomUUID(),
    groupId: randomUUID(),
    uppy: { uploadId: `none-${marker}`, key: `uploads/${randomUUID()}/${marker}.txt` },
    secrets: [marker],
    caller: { ...owner.caller },
  };
  const adopt = (body: any) => {
    if (body?.uploadToken && owner.kind === 'anonymous') f.caller = { uploadToken: body.uploadToken };
  };
  if (needs === 'session') {
    const res = await api('POST', '/v1/uploads', { body: anUpload(textBytes()).named(`${marker}.txt`).build(), token: f.caller.token });
    if (res.status !== 201) throw new Error(`fixture session: ${res.status} ${JSON.stringify(res.body)}`);
    adopt(res.body);
    Object.assign(f, { sessionId: res.body.id, objectKey: res.body.objectKey });
  }
  if (needs === 'multipart') {
    const res = await api('POST', '/v1/uploads', {
      body: { filename: `${marker}.bin`, contentType: 'application/octet-stream', size: 12 * 1024 * 1024, multipart: true },
      token: f.caller.token,
    });
    if (res.status !== 201) throw new Error(`fixture multipart session: ${res.status} ${JSON.stringify(res.body)}`);
    adopt(res.body);
    Object.assign(f, { sessionId: res.body.id, objectKey: res.body.objectKey });
    f.secrets.push(res.body.upload.uploadId);
  }
  if (needs === 'uploaded' || needs === 'job') {
    const created = await api('POST', '/v1/uploads', { body: anUpload(textBytes()).named(`${marker}.txt`).build(), token: f.caller.token });
    const done = await uploadToEndFrom(created, f.caller);
    adopt(created.body);
    Object.assign(f, { sessionId: done.id, objectKey: done.objectKey, jobId: done.jobs[0]?.id ?? f.jobId });
  }
  if (needs === 'group') {
    const res = await api('POST', '/v1/groups', { body: { name: marker, totalFiles: 3 }, token: f.caller.token });
    if (res.status !== 201) throw new Error(`fixture group: ${res.status} ${JSON.stringify(res.body)}`);
    adopt(res.body);
    f.groupId = res.body.id;
  }
  if (needs === 'uppy') {
    // Uppy's routes take an upload token the gateway issued (the /demo page's cookie; Uppy 6 sends no response-provided headers).
    if (owner.kind === 'anonymous') f.caller = { uploadToken: await issuedUploadToken() };
    const res = await api('POST', '/s3/multipart', {
      body: { filename: `${marker}.txt`, type: 'text/plain', metadata: {} },
      token: f.caller.token,
      uploadToken: f.caller.uploadToken,
    });
    if (res.status !== 200) throw new Error(`fixture Uppy upload: ${res.status} ${JSON.stringify(res.body)}`);
    adopt(res.body);
    f.uppy = { uploadId: res.body.uploadId, key: res.body.key };
  }
  f.secrets.push(f.objectKey, f.sessionId, f.jobId, f.groupId, f.uppy.uploadId, f.uppy.key);
  if (owner.kind === 'user B') f.secrets.push(userB);
  return f;
}

async function uploadToEndFrom(created: ApiResponse, caller: Caller): Promise<any> {
  if (created.status !== 201) throw new Error(`fixture upload: ${created.status} ${JSON.stringify(created.body)}`);
  const c = { id: created.body.id, body: created.body, caller: { token: caller.token, uploadToken: created.body.uploadToken } };
  // The builder's bytes are not kept; the declared size is what the URL signs, so send that many bytes.
  const status = await sendBytes(c, Buffer.alloc(created.body.size, 'x'));
  if (status !== 200) throw new Error(`fixture PUT: ${status}`);
  return waitForStatus(c.id, c.caller, ['COMPLETED', 'FAILED']);
}

function call(row: Row, f: Fixture, caller: Caller): Promise<ApiResponse> {
  return api(row.method, row.path(f), { token: caller.token, uploadToken: caller.uploadToken, ...(row.body ? { body: row.body(f) } : {}) });
}

/** The router's own 404 (no such route), as opposed to a domain "not found" that carries a code. */
const isMissingRoute = (r: ApiResponse) =>
  r.status === 404 && (r.body?.code === undefined || r.body?.code === null) && /^Cannot /.test(String(r.body?.message ?? ''));

/** Secrets of the owner that appear in an answer, minus what the caller itself put in the request. */
function leaks(res: ApiResponse, f: Fixture, requestText: string): string[] {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '');
  return f.secrets.filter((s) => s && !requestText.includes(s) && text.includes(s));
}

describe('authorization matrix (e2e)', () => {
  let system: System;
  const checked: string[] = [];

  beforeAll(async () => {
    system = await System.start({ JOB_TYPES: 'VALIDATION', ANONYMOUS_UPLOADS: 'true' });
  });

  // A row that returned before asserting anything would count as passed.
  beforeEach(() => expect.hasAssertions());

  afterAll(async () => {
    await system?.stop();
    console.log(`authorization matrix: ${checked.length} rows checked (${checked.join('; ')})`);
  });

  const owners: Owner[] = [
    { kind: 'user B', caller: { token: tokenB } },
    { kind: 'anonymous', caller: {} },
  ];

  it.each(ROUTES.map((r) => [r.route, r] as const))('%s', async (_, row) => {
    const problems: string[] = [];
    for (const owner of owners) {
      const f = await fixture(row.needs, owner);
      // Others first (a destructive call by the owner must not change what they see), then the owner, then an admin.
      const callers: CallerName[] = [...DENIED, 'owner', 'admin'];
      const seen: string[] = [];
      for (const name of callers) {
        const caller = callerFor(name, f.caller);
        const res = await call(row, f, caller);
        const requestText = row.path(f) + JSON.stringify(row.body?.(f) ?? '');
        seen.push(`${name}=${res.status}`);
        if (isMissingRoute(res)) problems.push(`${owner.kind}'s resource, ${name}: the router knows no such route`);
        if (name === 'owner' || name === 'admin') {
          const expected = name === 'owner' ? row.owner : (row.admin ?? row.owner);
          if (res.status !== expected) problems.push(`${owner.kind}'s resource, ${name}: ${res.status} (expected ${expected}) ${JSON.stringify(res.body)}`);
          continue;
        }
        const allowed = name === 'anonNoToken' ? [401, 404] : [404];
        if (!allowed.includes(res.status))
          problems.push(`${owner.kind}'s resource, ${name}: ${res.status} (expected ${allowed.join('|')}) ${JSON.stringify(res.body)}`);
        const leaked = leaks(res, f, requestText);
        if (leaked.length > 0) problems.push(`${owner.kind}'s resource, ${name}: the answer reveals ${leaked.join(', ')}`);
      }
      checked.push(`${row.route} [${owner.kind}: ${seen.join(' ')}]`);
    }
    expect(problems).toEqual([]);
  });

  it('POST /v1/uploads: a user, an admin and (when allowed) an anonymous caller create; only the anonymous one gets an upload token', async () => {
    const body = anUpload(textBytes()).build();
    const asA = await api('POST', '/v1/uploads', { body, token: userA });
    const asAdmin = await api('POST', '/v1/uploads', { body, token: admin });
    const asAnon = await api('POST', '/v1/uploads', { body });
    expect([asA.status, asAdmin.status, asAnon.status]).toEqual([201, 201, 201]);
    expect(asA.body.uploadToken).toBeUndefined();
    expect(asAdmin.body.uploadToken).toBeUndefined();
    expect(asAnon.body.uploadToken).toEqual(expect.any(String));
    expect(asAnon.body.userId).toBeNull();
    // The token is never stored or shown again.
    const again = await api('GET', `/v1/uploads/${asAnon.body.id}`, { uploadToken: asAnon.body.uploadToken });
    expect(JSON.stringify(again.body)).not.toContain(asAnon.body.uploadToken);
    expect(JSON.stringify(again.body)).not.toMatch(/uploadTokenHash|upload_token_hash/);
  });

  it('GET /v1/uploads lists only your own; a group filter cannot reach into others; anonymous listing is refused; an admin sees everyone', async () => {
    const b = await api('POST', '/v1/uploads', { body: anUpload(textBytes()).named('listed-b.txt').build(), token: tokenB });
    const a = await api('POST', '/v1/uploads', { body: anUpload(textBytes()).named('listed-a.txt').build(), token: userA });
    const anon = await api('POST', '/v1/uploads', { body: anUpload(textBytes()).named('listed-anon.txt').build() });
    const listA = JSON.stringify((await api('GET', '/v1/uploads?limit=100', { token: userA })).body);
    expect(listA).toContain(a.body.id);
    expect(listA).not.toContain(b.body.id);
    expect(listA).not.toContain(anon.body.id);
    expect(listA).not.toContain(userB);
    const listB = (await api('GET', '/v1/uploads?limit=100', { token: tokenB })).body;
    expect(listB.items.every((s: { userId: string }) => s.userId === userB)).toBe(true);
    const otherGroup = await api('GET', `/v1/uploads?groupId=${randomUUID()}`, { token: userA });
    expect(otherGroup).toMatchObject({ status: 200, body: { items: [] } });
    expect((await api('GET', '/v1/uploads', {})).status).toBe(401);
    expect((await api('GET', '/v1/uploads', { uploadToken: anon.body.uploadToken })).status).toBe(401);
    const all = JSON.stringify((await api('GET', '/v1/uploads?limit=100', { token: admin })).body);
    expect(all).toContain(b.body.id);
    expect(all).toContain(a.body.id);
  });

  it('the gateway logs no bearer token, upload token or URL signature', async () => {
    const logs = readdirSync(join(ROOT, '.e2e', NS, 'logs'))
      .filter((f) => f.startsWith('upload-gateway'))
      .map((f) => readFileSync(join(ROOT, '.e2e', NS, 'logs', f), 'utf8'))
      .join('\n');
    for (const secret of [userA, tokenB, admin].map((t) => t.split('.')[2])) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/X-Amz-Signature|X-Amz-Credential|eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
