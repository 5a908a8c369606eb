import { randomUUID } from 'node:crypto';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { api, ApiResponse, jwtFor } from '../support/http';

jest.setTimeout(120_000);

/**
 * Random and boundary input on the public routes: every field of POST /v1/uploads, the query of
 * GET /v1/uploads, ids, headers, wrong types, huge strings, unicode, path traversal, deep JSON, huge bodies.
 * What must hold: no 5xx, ever; every 201 has a server-made key; the gateway stays up and healthy.
 * Seeded (FUZZ_SEED=<n> to replay a run; the seed is printed).
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 700);

/** mulberry32: small, fast, good enough to pick test values reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const chance = (p: number) => rand() < p;

const UNICODE = ['ü', 'é', '漢字', '🙂', '👩‍👩‍👧', '\u202e', '\u200b', '\ufeff', 'Ω', 'ß', 'ﬁ', '\u0301', '\ud800', '\udfff', 'Z̸̢͓̈́', 'א', '٣'];
const NASTY = [
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '%2e%2e%2fetc%2fpasswd',
  '....//....//x',
  '/absolute',
  'C:\\x',
  '.',
  '..',
  '...',
  ' ',
  '',
  'CON',
  'nul.txt',
  'a\u0000b',
  'a\nb',
  'a\rb',
  'a\tb',
  '\u007f',
  '<script>alert(1)</script>',
  "'; drop table upload_session; --",
  '${jndi:ldap://x}',
  '{{7*7}}',
  '%s%n%x',
  'uploads/00000000-0000-4000-8000-000000000000/x',
  'thumbnails/x.png',
  '?x=1&y=2#frag',
  'a+b c%20d',
];

function randomString(): string {
  switch (int(0, 6)) {
    case 0:
      return pick(NASTY);
    case 1:
      return Array.from({ length: int(1, 40) }, () => pick(UNICODE)).join('');
    case 2:
      return 'x'.repeat(pick([254, 255, 256, 1024, 10_000, chance(0.2) ? 300_000 : 100]));
    case 3:
      return pick(UNICODE).repeat(pick([64, 85, 128, 255, 256]));
    case 4:
      return Array.from({ length: int(0, 30) }, () => String.fromCharCode(int(0, 0xffff))).join('');
    case 5:
      return `${pick(NASTY)}${pick(UNICODE)}.${pick(['txt', 'png', 'exe', '', 'tar.gz'])}`;
    default:
      return `file-${int(0, 1e6)}.txt`;
  }
}

function randomNumber(): number {
  return pick([
    0,
    -1,
    1,
    2,
    1.5,
    -0.5,
    5,
    255,
    256,
    5 * 1024 ** 2 - 1,
    5 * 1024 ** 2,
    5 * 1024 ** 3,
    5 * 1024 ** 3 + 1,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53 + 2,
    1e21,
    -1e21,
    1e308,
    Number.MIN_VALUE,
    int(-1e9, 1e9),
  ]);
}

function wrongType(): unknown {
  return pick([
    null,
    true,
    false,
    [],
    {},
    [1, 2],
    { a: 1 },
    '',
    '1',
    '1.0',
    '-1',
    '0x10',
    'NaN',
    'Infinity',
    [[[]]],
    { $gt: '' },
    { __proto__: { admin: true } },
  ]);
}

function deep(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = chance(0.5) ? [v] : { a: v };
  return v;
}

function anyValue(kind: 'string' | 'number' | 'boolean' | 'object' | 'array'): unknown {
  const r = rand();
  if (r < 0.25) return wrongType();
  if (r < 0.3) return deep(pick([10, 100, 1000]));
  if (kind === 'string') return randomString();
  if (kind === 'number') return randomNumber();
  if (kind === 'boolean') return pick([true, false]);
  if (kind === 'array') return Array.from({ length: pick([0, 1, 2, 10, 11, 100]) }, () => randomJob());
  return randomMetadata();
}

function randomJob(): unknown {
  if (chance(0.2)) return wrongType();
  return {
    ...(chance(0.9) ? { type: chance(0.7) ? pick(['VALIDATION', 'CHECKSUM', 'METADATA', 'THUMBNAIL']) : anyValue('string') } : {}),
    ...(chance(0.4) ? { priority: chance(0.5) ? int(-2, 12) : anyValue('number') } : {}),
    ...(chance(0.3) ? { maxAttempts: chance(0.5) ? int(-1, 25) : anyValue('number') } : {}),
    ...(chance(0.2) ? { required: anyValue('boolean') } : {}),
    ...(chance(0.2) ? { config: chance(0.5) ? { box: int(-5, 5000) } : anyValue('object') } : {}),
  };
}

function randomMetadata(): unknown {
  const n = pick([0, 1, 5, 20, 21, 100]);
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [chance(0.7) ? `k${i}` : randomString().slice(0, 100), chance(0.7) ? `v${i}` : anyValue('string')]),
  );
}

/** A body that is mostly valid, with some fields replaced by random or boundary values. */
function randomUploadBody(): Record<string, unknown> {
  const body: Record<string, unknown> = { filename: 'f.txt', contentType: 'text/plain', size: 10 };
  const fields: [string, () => unknown][] = [
    ['filename', () => anyValue('string')],
    [
      'contentType',
      () =>
        chance(0.5)
          ? pick(['text/plain', 'image/png', 'TEXT/PLAIN', 'a/b', '*/*', 'image/*', 'text/plain; charset=utf-8', 'x', '/', 'a/', '/b'])
          : anyValue('string'),
    ],
    ['size', () => anyValue('number')],
    ['checksumSha256', () => (chance(0.3) ? 'A'.repeat(43) + '=' : anyValue('string'))],
    ['groupId', () => (chance(0.3) ? randomUUID() : anyValue('string'))],
    ['multipart', () => anyValue('boolean')],
    ['partSize', () => anyValue('number')],
    ['jobs', () => anyValue('array')],
    ['metadata', () => anyValue('object')],
    [pick(['extra', '__proto__', 'constructor', 'userId', 'id', 'status', 'objectKey']), () => anyValue('string')],
  ];
  for (const [name, value] of fields) if (chance(0.3)) body[name] = value();
  if (chance(0.1)) delete body[pick(['filename', 'contentType', 'size'])];
  return body;
}

function randomQuery(): string {
  const params = new URLSearchParams();
  const values = () => (chance(0.5) ? randomString().slice(0, 2000) : String(anyValue('number')));
  if (chance(0.5)) params.append('status', chance(0.5) ? pick(['PENDING_UPLOAD', 'COMPLETED', 'FAILED', 'nope', '']) : values());
  if (chance(0.3)) params.append('status', values());
  if (chance(0.4)) params.append('groupId', chance(0.5) ? randomUUID() : values());
  if (chance(0.4)) params.append('limit', pick(['0', '1', '100', '101', '-1', '1.5', '1e3', 'abc', '', '99999999999999999999']));
  if (chance(0.4))
    params.append(
      'cursor',
      pick([
        values(),
        cursorOf(
          pick(['2020-01-01T00:00:00.000Z', '-200000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00.000Z', 'x']),
          randomUUID(),
        ),
      ]),
    );
  if (chance(0.2)) params.append(randomString().slice(0, 50), values());
  const q = params.toString();
  return q ? `?${q}${chance(0.1) ? '&limit[$gt]=1&status[]=x' : ''}` : '';
}

function cursorOf(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

/** encodeURIComponent throws on lone surrogates; a client would have sent replacement characters. */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));

function randomId(): string {
  return encode(
    pick([
      randomUUID(),
      randomUUID().toUpperCase(),
      '00000000-0000-0000-0000-000000000000',
      randomString().slice(0, 300),
      '..%2f..%2fetc',
      "1' or '1'='1",
      ' ',
    ]),
  );
}

const user = jwtFor(`fuzz-${randomUUID()}`);
const admin = jwtFor(`fuzz-admin-${randomUUID()}`, { roles: ['admin'] });

function randomHeaders(): { token?: string; uploadToken?: string; headers?: Record<string, string> } {
  const r = rand();
  if (r < 0.3) return { token: user };
  if (r < 0.35) return { token: admin };
  if (r < 0.45)
    return {
      uploadToken:
        randomString()
          .replace(/[^\x20-\x7e]/g, '_')
          .slice(0, 5000) || 'x',
    };
  if (r < 0.5)
    return {
      headers: {
        authorization: `Bearer ${randomString()
          .replace(/[^\x20-\x7e]/g, '_')
          .slice(0, 5000)}`,
      },
    };
  return {};
}

describe(`fuzzing the public routes (e2e, seed ${SEED})`, () => {
  let gateway: RunningApp;
  const fiveHundreds: string[] = [];
  const statusCounts: Record<number, number> = {};

  beforeAll(async () => {
    console.log(`fuzz seed: ${SEED} (replay with FUZZ_SEED=${SEED})`);
    gateway = await startApp('upload-gateway', { ANONYMOUS_UPLOADS: 'true', HTTP_BODY_LIMIT: '1mb' });
  });

  afterAll(async () => {
    if (gateway) await stopApp(gateway);
    console.log(`fuzz seed ${SEED}: statuses ${JSON.stringify(statusCounts)}`);
  });

  async function record(what: string, res: Promise<ApiResponse>): Promise<ApiResponse> {
    const r = await res.catch((e: Error) => ({ status: 599, body: `request failed: ${e.message}`, headers: new Headers() }) as ApiResponse);
    statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
    if (r.status >= 500) fiveHundreds.push(`${what} → ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return r;
  }

  it(`${ROUNDS} random requests: no 5xx, server-made keys only`, async () => {
    const badKeys: string[] = [];
    const work = Array.from({ length: ROUNDS }, (_, i) => i);
    const worker = async () => {
      for (let i = work.shift(); i !== undefined; i = work.shift()) {
        const who = randomHeaders();
        const r = rand();
        if (r < 0.65) {
          const body = randomUploadBody();
          const raw = chance(0.05)
            ? pick([
                '',
                '{',
                'null',
                '[]',
                '"x"',
                '1e400',
                '{"size":1e400}',
                '{"filename":"a","filename":"b"}',
                '\u0000',
                '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
              ])
            : JSON.stringify(body);
          const res = await record(`POST /v1/uploads ${raw.slice(0, 200)}`, api('POST', '/v1/uploads', { ...who, rawBody: raw }));
          if (res.status === 201) {
            const key: string = res.body.objectKey;
            if (!new RegExp(`^uploads/${res.body.id}/[^/\\\\\\x00-\\x1f]+$`).test(key) || key.includes('..') || Buffer.byteLength(key) > 1024)
              badKeys.push(key);
          }
        } else if (r < 0.85) {
          await record('GET /v1/uploads', api('GET', `/v1/uploads${randomQuery()}`, who));
        } else {
          await record('GET /v1/uploads/:id', api('GET', `/v1/uploads/${randomId()}`, who));
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    expect(fiveHundreds).toEqual([]);
    expect(badKeys).toEqual([]);
    expect(statusCounts[201]).toBeGreaterThan(0);
    expect(statusCounts[400]).toBeGreaterThan(0);
  });

  it('boundaries and abuse: deep JSON, huge bodies, wrong content types, odd methods', async () => {
    const cases: [string, Promise<ApiResponse>, number[]][] = [
      ['deep JSON (100k levels)', api('POST', '/v1/uploads', { rawBody: '['.repeat(100_000) + ']'.repeat(100_000) }), [400, 413]],
      ['deep object in metadata', api('POST', '/v1/uploads', { body: { filename: 'a', contentType: 'a/b', size: 1, metadata: deep(3000) } }), [400]],
      [
        'deep object in a job config',
        api('POST', '/v1/uploads', { body: { filename: 'a', contentType: 'a/b', size: 1, jobs: [{ type: 'VALIDATION', config: deep(3000) }] } }),
        [400, 201],
      ],
      ['a 2 MB body', api('POST', '/v1/uploads', { rawBody: JSON.stringify({ filename: 'x'.repeat(2 * 1024 * 1024) }) }), [413]],
      ['a 20 MB body', api('POST', '/v1/uploads', { rawBody: 'x'.repeat(20 * 1024 * 1024) }), [413]],
      [
        'a text/plain body',
        api('POST', '/v1/uploads', { rawBody: '{"filename":"a","contentType":"a/b","size":1}', headers: { 'content-type': 'text/plain' } }),
        [400, 415],
      ],
      [
        'a form body',
        api('POST', '/v1/uploads', { rawBody: 'filename=a&size=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
        [400, 415],
      ],
      ['a wrong charset', api('POST', '/v1/uploads', { rawBody: '{}', headers: { 'content-type': 'application/json; charset=utf-7' } }), [400, 415]],
      ['gzip that is not gzip', api('POST', '/v1/uploads', { rawBody: '{}', headers: { 'content-encoding': 'gzip' } }), [400, 415]],
      ['PUT on the collection', api('PUT', '/v1/uploads', { body: {} }), [404, 405]],
      ['PATCH a session', api('PATCH', `/v1/uploads/${randomUUID()}`, { body: {} }), [404, 405]],
      ['TRACE', api('DELETE', `/v1/uploads/${'x'.repeat(5000)}`), [404, 405]],
      ['a 10 kB upload token', api('GET', `/v1/uploads/${randomUUID()}`, { uploadToken: 'x'.repeat(10_000) }), [404]],
      ['a 6 kB bearer token', api('GET', '/v1/uploads', { headers: { authorization: `Bearer ${'a'.repeat(3000)}.${'b'.repeat(3000)}.c` } }), [401]],
      ['a query of 500 params', api('GET', `/v1/uploads?${Array.from({ length: 500 }, (_, i) => `p${i}=${i}`).join('&')}`, { token: user }), [400]],
      ['a 7 kB query value', api('GET', `/v1/uploads?cursor=${'A'.repeat(7000)}`, { token: user }), [400, 414, 431]],
      ['a cursor before year 0', api('GET', `/v1/uploads?cursor=${cursorOf('-200000-01-01T00:00:00.000Z', randomUUID())}`, { token: user }), [400, 200]],
      ['a cursor at the end of time', api('GET', `/v1/uploads?cursor=${cursorOf('+275760-09-13T00:00:00.000Z', randomUUID())}`, { token: user }), [400, 200]],
    ];
    const problems: string[] = [];
    for (const [what, pending, expected] of cases) {
      const res = await record(what, pending);
      if (!expected.includes(res.status)) problems.push(`${what}: ${res.status} (expected ${expected.join('|')}) ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(fiveHundreds).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('the gateway is still up and healthy afterwards', async () => {
    expect(gateway.process.exitCode).toBeNull();
    expect((await api('GET', '/health/ready')).status).toBe(200);
    expect((await api('POST', '/v1/uploads', { body: { filename: 'after-fuzz.txt', contentType: 'text/plain', size: 3 } })).status).toBe(201);
  });
});
