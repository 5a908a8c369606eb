import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { api, jwtFor } from '../support/http';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const QUOTA = 10 * MiB;
const WRITES = 10;

/**
 * Two gateway processes on one database, as two replicas behind a load balancer: one user's creations
 * spread over both never exceed the user's quota (the charge is a compare-and-set in the statement that
 * inserts the session), and the user's rate limit holds across both (counts exchanged through Postgres).
 */
describe('two gateway replicas (integration: two processes, one Postgres)', () => {
  let replicas: RunningApp[] = [];
  const urls = [`http://127.0.0.1:${PORT_BASE + 20}`, `http://127.0.0.1:${PORT_BASE + 21}`];
  const db = new Pool({ connectionString: testEnv().DATABASE_URL, max: 2 });

  beforeAll(async () => {
    replicas = await Promise.all(
      urls.map((_, i) =>
        startApp(
          'upload-gateway',
          { USER_QUOTA_BYTES: String(QUOTA), RATE_LIMIT_WRITES: String(WRITES), RATE_LIMIT_REQUESTS: '0', RATE_LIMIT_SYNC_MS: '100' },
          { port: PORT_BASE + 20 + i },
        ),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(replicas.map((r) => stopApp(r)));
    await db.end();
  });

  const create = (baseUrl: string, token: string, size: number) =>
    api('POST', '/v1/uploads', { baseUrl, token, body: { filename: 'r.bin', contentType: 'application/octet-stream', size } });

  it('concurrent creations by one user across both replicas never exceed the quota: exactly what it holds is created and charged', async () => {
    // Four users at once, each racing ten creations of 2 MiB (their rate limit) over both replicas: each quota holds five.
    const users = Array.from({ length: 4 }, () => `quota-race-${randomUUID()}`);
    const results = await Promise.all(
      users.flatMap((u) => Array.from({ length: WRITES }, (_, i) => create(urls[i % 2], jwtFor(u), 2 * MiB).then((r) => ({ u, r })))),
    );
    for (const u of users) {
      const mine = results.filter((x) => x.u === u).map((x) => x.r);
      expect(mine.filter((r) => r.status === 201)).toHaveLength(5);
      const refused = mine.filter((r) => r.status === 413);
      expect(refused).toHaveLength(5);
      for (const r of refused) expect(r.body).toMatchObject({ statusCode: 413, code: 'QUOTA_EXCEEDED', details: [{ field: 'size' }] });
      const [row] = (
        await db.query(
          `select u.reserved_bytes, count(s.id) as sessions, coalesce(sum(s.size), 0) as bytes
             from app_user u left join upload_session s on s.user_id = u.id where u.id = $1 group by u.id`,
          [u],
        )
      ).rows;
      expect({ reserved: Number(row.reserved_bytes), sessions: Number(row.sessions), bytes: Number(row.bytes) }).toEqual({
        reserved: QUOTA,
        sessions: 5,
        bytes: QUOTA,
      });
    }
  });

  it('the rate limit holds across replicas: what one replica admitted, the other counts after its next exchange', async () => {
    const sub = `rate-${randomUUID()}`;
    const token = jwtFor(sub);
    // The window (RATE_LIMIT_WINDOW_SECONDS, 60 s) is part of the key.
    const shared = async () =>
      Number((await db.query('select coalesce(sum(hits), 0) as n from rate_limit_hits where key = $1', [`writes:60000:user:${sub}`])).rows[0].n);
    // Replica A takes the whole limit (each of these writes is a 201 or, over the quota, a 413: both count).
    for (let i = 0; i < WRITES; i++) expect([201, 413]).toContain((await create(urls[0], token, 1)).status);
    expect((await create(urls[0], token, 1)).status).toBe(429);
    await waitFor(shared, (n) => n === WRITES, { what: 'replica A to share its counts' });
    // Replica B has never seen this caller: it admits one request before its first exchange tells it the rest.
    expect((await create(urls[1], token, 1)).status).toBe(201);
    await waitFor(shared, (n) => n === WRITES + 1, { what: 'replica B to share its count' });
    const refused = await create(urls[1], token, 1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
