import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { DomainEventType } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { WebhookDeliveries, WebhookDeliveryStatus, WebhookScope, WebhookSubscription } from '@app/domain';
import { testEnv } from '../support/test-env';

/** The delivery SQL against the real Postgres: fan-out once per event, per-endpoint limits under racing claimers, leases, compare-and-set results. */
describe('WebhookDeliveries (Postgres)', () => {
  let orm: MikroORM;
  const deliveries = new WebhookDeliveries();

  beforeAll(async () => {
    orm = await MikroORM.init({ ...ormConfig(testEnv().DATABASE_URL, { poolMax: 12 }), allowGlobalContext: true });
  });
  afterAll(() => orm?.close(true));

  async function aSubscription(props: { events?: string[]; scope?: WebhookScope; enabled?: boolean } = {}): Promise<WebhookSubscription> {
    const userId = `u-${randomUUID()}`;
    const em = orm.em.fork();
    await em.execute('insert into app_user (id, created_at) values (?, now())', [userId]);
    const s = new WebhookSubscription({ userId, url: 'http://127.0.0.1:9/hook', events: props.events ?? ['*'], secret: 'whsec_c2VjcmV0', scope: props.scope });
    s.enabled = props.enabled ?? true;
    await em.persistAndFlush(s);
    return s;
  }

  const event = (userId: string | null, type: string = DomainEventType.SessionCompleted) => ({ id: randomUUID(), type, userId, payload: '{}' });
  const record = async (e: ReturnType<typeof event>) => (await deliveries.recordEvents(new PgSqlDatabase(orm), [e])).get(e.id) ?? 0;
  const count = async (subscriptionId: string, status?: WebhookDeliveryStatus) =>
    Number(
      (
        await orm.em
          .fork()
          .execute<{ n: string }[]>(
            `select count(*) as n from webhook_delivery where subscription_id = ?${status ? ' and status = ?' : ''}`,
            status ? [subscriptionId, status] : [subscriptionId],
          )
      )[0].n,
    );
  // Claims stay within these subscriptions, so other tests' rows in the same database do not matter.
  const claim = (capacity: number, endpointConcurrency = 3, leaseMs = 60_000) => deliveries.claimDue(orm.em.fork(), { capacity, endpointConcurrency, leaseMs });

  it("records an event once per interested subscription, whatever the redeliveries: the owner's, and scope all", async () => {
    const mine = await aSubscription();
    const onlyUploaded = await aSubscription({ events: [DomainEventType.SessionUploaded] });
    const disabled = await aSubscription({ enabled: false });
    const all = await aSubscription({ scope: WebhookScope.ALL, events: [DomainEventType.SessionCompleted] });
    const e = event(mine.userId);
    await Promise.all([record(e), record(e), record(e)]);
    expect([await count(mine.id), await count(onlyUploaded.id), await count(disabled.id), await count(all.id)]).toEqual([1, 0, 0, 1]);
    // An anonymous upload's event reaches only scope all.
    await record(event(null));
    expect(await count(all.id)).toBe(2);
    await orm.em.fork().nativeDelete(WebhookSubscription, { id: all.id });
  });

  it('records a batch of events in one statement: each for its own subscriptions, a repeated event once', async () => {
    const alice = await aSubscription();
    const bob = await aSubscription({ events: [DomainEventType.SessionUploaded] });
    const a1 = event(alice.userId);
    const a2 = event(alice.userId, DomainEventType.SessionUploaded);
    const b1 = event(bob.userId);
    const b2 = event(bob.userId, DomainEventType.SessionUploaded);
    const nobody = event(`u-${randomUUID()}`);
    const created = await deliveries.recordEvents(new PgSqlDatabase(orm), [a1, b1, a2, b2, a1, nobody]);
    expect([created.get(a1.id), created.get(a2.id), created.get(b1.id), created.get(b2.id), created.get(nobody.id)]).toEqual([1, 1, undefined, 1, undefined]);
    expect([await count(alice.id), await count(bob.id)]).toEqual([2, 1]);
    // Redelivered, in another batch: nothing more.
    expect((await deliveries.recordEvents(new PgSqlDatabase(orm), [b2, a1])).size).toBe(0);
    expect([await count(alice.id), await count(bob.id)]).toEqual([2, 1]);
  });

  it('never has more than WEBHOOK_ENDPOINT_CONCURRENCY attempts in flight per subscription, under eight racing claimers', async () => {
    const s = await aSubscription();
    for (let i = 0; i < 20; i++) await record(event(s.userId));
    const claims = await Promise.all(Array.from({ length: 8 }, () => claim(10)));
    const mine = claims.flat().filter((c) => c.subscriptionId === s.id);
    expect(mine).toHaveLength(3);
    expect(await count(s.id, WebhookDeliveryStatus.SENDING)).toBe(3);
    expect((await claim(10)).filter((c) => c.subscriptionId === s.id)).toHaveLength(0);

    // A recorded result frees its slot; a result for an attempt that is no longer current is refused.
    expect(await deliveries.recordAttempt(orm.em.fork(), mine[0], WebhookDeliveryStatus.DELIVERED, { statusCode: 204, latencyMs: 5, error: null }, null)).toBe(
      true,
    );
    expect(await deliveries.recordAttempt(orm.em.fork(), mine[0], WebhookDeliveryStatus.DELIVERED, { statusCode: 204, latencyMs: 5, error: null }, null)).toBe(
      false,
    );
    expect(
      await deliveries.recordAttempt(
        orm.em.fork(),
        { ...mine[1], attempts: mine[1].attempts + 1 },
        WebhookDeliveryStatus.FAILED,
        { statusCode: 500, latencyMs: 5, error: 'x' },
        null,
      ),
    ).toBe(false);
    const next = (await claim(10)).filter((c) => c.subscriptionId === s.id);
    expect(next).toHaveLength(1);
    expect(next[0].attempts).toBe(1);
  });

  it('takes over an attempt whose lease expired (its sender died), and then refuses the dead attempt its result', async () => {
    const s = await aSubscription();
    await record(event(s.userId));
    const [dead] = (await claim(10, 3, 200)).filter((c) => c.subscriptionId === s.id);
    expect((await claim(10)).filter((c) => c.subscriptionId === s.id)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 400));
    const [taken] = (await claim(10)).filter((c) => c.subscriptionId === s.id);
    expect(taken).toMatchObject({ id: dead.id, eventId: dead.eventId, attempts: 2, runAttempts: 2 });
    expect(await deliveries.recordAttempt(orm.em.fork(), dead, WebhookDeliveryStatus.DELIVERED, { statusCode: 200, latencyMs: 1, error: null }, null)).toBe(
      false,
    );
    expect(await deliveries.recordAttempt(orm.em.fork(), taken, WebhookDeliveryStatus.DELIVERED, { statusCode: 200, latencyMs: 1, error: null }, null)).toBe(
      true,
    );
  });

  it('retries wait for their time; a replay makes a delivery due now with a fresh run, but not while it is in flight', async () => {
    const s = await aSubscription();
    await record(event(s.userId));
    const [c] = (await claim(10)).filter((x) => x.subscriptionId === s.id);
    expect(await deliveries.replay(orm.em.fork(), c.id)).toBe(false);
    await deliveries.recordAttempt(
      orm.em.fork(),
      c,
      WebhookDeliveryStatus.PENDING,
      { statusCode: 500, latencyMs: 3, error: 'HTTP 500' },
      new Date(Date.now() + 3_600_000),
    );
    expect((await claim(10)).filter((x) => x.subscriptionId === s.id)).toHaveLength(0);
    expect(await deliveries.replay(orm.em.fork(), c.id)).toBe(true);
    const [again] = (await claim(10)).filter((x) => x.subscriptionId === s.id);
    expect(again).toMatchObject({ id: c.id, attempts: 2, runAttempts: 1 });
  });

  it('a disabled subscription gets no attempts, and its waiting deliveries fail', async () => {
    const s = await aSubscription();
    await record(event(s.userId));
    await record(event(s.userId));
    await orm.em.fork().nativeUpdate(WebhookSubscription, { id: s.id }, { enabled: false });
    expect((await claim(10)).filter((x) => x.subscriptionId === s.id)).toHaveLength(0);
    expect(await deliveries.failWaiting(orm.em.fork(), s.id, 'subscription disabled')).toBe(2);
    expect(await count(s.id, WebhookDeliveryStatus.FAILED)).toBe(2);
  });
});
