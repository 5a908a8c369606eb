import { randomUUID } from 'node:crypto';
import { DomainEventType, FileStatus, SessionEventV1 } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { TestDb } from '../support/db';
import { api, jwtFor } from '../support/http';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';
import { WebhookReceiver } from '../support/webhook-receiver';

jest.setTimeout(180_000);

/** Attempts leased for 2 s + 15 s: a killed process's attempts are taken over 17 s after they started. */
const DELIVERY_ENV = {
  WEBHOOK_TIMEOUT_SECONDS: '2',
  WEBHOOK_RETRY_SCHEDULE: '500ms,1s,1s,1s',
  WEBHOOK_ENDPOINT_CONCURRENCY: '8',
  WEBHOOK_POLL_INTERVAL_MS: '200',
};
const BURST = 200;

/**
 * kill -9 of the delivering app (storage-events) in the middle of a burst of 200 domain events: another
 * instance finishes the work from what Postgres holds, and every event reaches the receiver at
 * least once (counted by webhook-id), with a valid signature set and the same body.
 */
describe('webhook delivery survives kill -9 (e2e)', () => {
  const apps: RunningApp[] = [];
  let receiver: WebhookReceiver;
  const user = `crash-${randomUUID().slice(0, 8)}`;
  const caller = { token: jwtFor(user) };
  let subscriptionId = '';

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    apps.push(await startApp('upload-gateway'));
  });

  afterAll(async () => {
    if (subscriptionId) await api('DELETE', `/v1/webhooks/${subscriptionId}`, caller).catch(() => undefined);
    await Promise.all(apps.map((a) => stopApp(a)));
    await receiver?.close();
  });

  it('every one of 200 events is delivered at least once, none lost', async () => {
    // Slow enough that many attempts are in flight, and many deliveries waiting, when the process dies.
    const url = receiver.on('/burst', () => ({ status: 200, delayMs: 150 }));
    const sub = await api('POST', '/v1/webhooks', { ...caller, body: { url, events: ['*'] } });
    expect(sub.status).toBe(201);
    subscriptionId = sub.body.id;

    const first = await startApp('storage-events', DELIVERY_ENV, { port: PORT_BASE + 6 });
    apps.push(first);
    const events: SessionEventV1[] = Array.from({ length: BURST }, (_, i) => {
      const sessionId = randomUUID();
      return {
        id: randomUUID(),
        type: DomainEventType.SessionCompleted,
        occurredAt: new Date().toISOString(),
        version: 1,
        correlationId: sessionId,
        data: {
          sessionId,
          groupId: null,
          userId: user,
          objectKey: `uploads/${sessionId}/f${i}.txt`,
          bucket: testEnv().S3_BUCKET,
          status: FileStatus.COMPLETED,
          filename: `f${i}.txt`,
          contentType: 'text/plain',
          size: 1,
          error: null,
          errorMessage: null,
        },
      };
    });
    // As the pipeline writes them: outbox rows, which the gateway's relay publishes and records as deliveries.
    const db = new TestDb();
    await db.outboxDomainEvents(events).finally(() => db.close());

    await waitFor(
      async () => receiver.ids('/burst').size,
      (n) => n >= 30,
      { timeoutMs: 60_000, intervalMs: 10, what: 'the burst under way' },
    );
    first.process.kill('SIGKILL');
    await first.exited;
    const atKill = receiver.ids('/burst').size;
    expect(atKill).toBeLessThan(BURST);

    apps.push(await startApp('storage-events', DELIVERY_ENV, { port: PORT_BASE + 7 }));
    const ids = await waitFor(
      async () => receiver.ids('/burst'),
      (s) => s.size >= BURST,
      { timeoutMs: 90_000, what: `all ${BURST} events at the receiver` },
    );
    expect([...ids].sort()).toEqual(events.map((e) => e.id).sort());
    // Each one as written, signed, whichever process sent it.
    const byId = new Map(events.map((e) => [e.id, JSON.stringify(e)]));
    for (const hook of receiver.at('/burst')) expect(JSON.parse(hook.raw)).toEqual(JSON.parse(byId.get(hook.webhookId)!));

    // Postgres agrees: 200 deliveries, all DELIVERED. Attempts the dead process made but never recorded are
    // sent again once their lease ends (the receiver dedupes them by webhook-id).
    const listAll = async () => {
      const statuses: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await api('GET', `/v1/webhooks/${subscriptionId}/deliveries?limit=100${cursor ? `&cursor=${cursor}` : ''}`, caller);
        statuses.push(...page.body.items.map((d: any) => d.status));
        cursor = page.body.nextCursor;
      } while (cursor);
      return statuses;
    };
    const done = await waitFor(listAll, (s) => s.length === BURST && s.every((x) => x === 'DELIVERED'), {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${BURST} deliveries DELIVERED`,
    });
    expect(done).toHaveLength(BURST);
    const duplicates = receiver.at('/burst').length - ids.size;
    console.log(`kill -9 with ${atKill}/${BURST} delivered: all ${BURST} delivered at least once, ${duplicates} sent twice (same webhook-id)`);
  });
});
