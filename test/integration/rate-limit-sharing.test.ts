import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import type { GatewayConfig } from '@app/config';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { RateLimits } from '../../apps/upload-gateway/src/rate-limit/rate-limits';
import { SharedHitCounts } from '../../apps/upload-gateway/src/rate-limit/shared-hit-counts';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const config = (writes: number) => ({ http: { rateLimit: { writes, requests: 0, windowSeconds: 60, syncMs: 1000 } } }) as GatewayConfig;

/**
 * Rate limits across gateway replicas: two RateLimits (as two replicas would hold them) exchanging their
 * counts through the real Postgres table. The exchange is driven by the test instead of the timers.
 */
describe('rate-limit counts shared by replicas (integration, Postgres)', () => {
  let orm: MikroORM;
  let replicas: [RateLimits, RateLimits];

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(testEnv().DATABASE_URL, { poolMax: 4 }));
    replicas = [
      new RateLimits(config(10), new SharedHitCounts(new PgSqlDatabase(orm))),
      new RateLimits(config(10), new SharedHitCounts(new PgSqlDatabase(orm))),
    ];
  });
  afterAll(() => orm?.close());

  const hitBoth = async (caller: string, n: number, exchange: boolean): Promise<number> => {
    let allowed = 0;
    for (let i = 0; i < n; i++) {
      const r = replicas[i % 2];
      if (r.hit(r.writes!, caller) === null) allowed++;
      // The replica that counted sends first, then the other one learns it: the exchange of a sync interval.
      if (exchange) for (const x of [r, replicas[(i + 1) % 2]]) await x.exchange();
    }
    return allowed;
  };

  it('a caller alternating between two replicas gets the limit once, not once per replica', async () => {
    expect(await hitBoth(`user:${randomUUID()}`, 30, true)).toBe(10);
  });

  it('without the exchange each replica would let the limit through on its own', async () => {
    expect(await hitBoth(`user:${randomUUID()}`, 30, false)).toBe(20);
  });

  it('a replica that joins later learns the counts of the others at its first exchange', async () => {
    const caller = `user:${randomUUID()}`;
    const [a] = replicas;
    for (let i = 0; i < 8; i++) expect(a.hit(a.writes!, caller)).toBeNull();
    await a.exchange();
    const late = new RateLimits(config(10), new SharedHitCounts(new PgSqlDatabase(orm)));
    expect(late.hit(late.writes!, caller)).toBeNull();
    await late.exchange();
    expect(late.hit(late.writes!, caller)).toBeNull();
    expect(late.hit(late.writes!, caller)).toBeGreaterThan(0);
  });

  it('with the database unreachable, each replica goes on limiting on its own', async () => {
    const dead = await MikroORM.init({ ...ormConfig('postgres://postgres@127.0.0.1:1/none', { poolMax: 1 }), connect: false });
    try {
      const alone = new RateLimits(config(3), new SharedHitCounts(new PgSqlDatabase(dead)));
      const caller = `user:${randomUUID()}`;
      const verdicts = [];
      for (let i = 0; i < 4; i++) {
        verdicts.push(alone.hit(alone.writes!, caller) === null);
        await alone.exchange();
      }
      expect(verdicts).toEqual([true, true, true, false]);
    } finally {
      await dead.close(true);
    }
  });
});
