import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { DomainEventType, WebhookTopology } from '@app/contracts';
import { verifyWebhook } from '../../libs/client/src';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { Capture, peekQueue, publishRaw } from '../support/broker';
import { anUpload, textBytes } from '../support/builders';
import { createUpload, sendBytes, waitForStatus } from '../support/flows';
import { api, jwtFor } from '../support/http';
import { waitFor } from '../support/poll';
import { PORT_BASE, testEnv } from '../support/test-env';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

jest.setTimeout(180_000);

/** Short schedules so a whole retry run takes about a second; a 5 s timeout that the slow receiver overruns. */
const DELIVERY_ENV = {
  WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,300ms,300ms,300ms',
  WEBHOOK_TIMEOUT_SECONDS: '5',
  WEBHOOK_CONCURRENCY: '4',
  WEBHOOK_ENDPOINT_CONCURRENCY: '2',
  WEBHOOK_POLL_INTERVAL_MS: '100',
  WEBHOOK_DISABLE_AFTER_SECONDS: '8',
};
const STRICT_GATEWAY = `http://127.0.0.1:${PORT_BASE + 5}`;

/**
 * Outgoing webhooks end to end: the three apps as processes, local receivers on 127.0.0.1, real uploads
 * through Ceph RGW producing the domain events. Every delivery is checked with the SDK's verifyWebhook and
 * with the Standard Webhooks reference library (standardwebhooks on npm).
 */
describe('outgoing webhooks (e2e)', () => {
  const apps: RunningApp[] = [];
  let receiver: WebhookReceiver;
  let events: Capture;
  const run = randomUUID().slice(0, 8);
  const alice = { token: jwtFor(`alice-${run}`) };
  const bob = { token: jwtFor(`bob-${run}`) };
  const admin = { token: jwtFor(`admin-${run}`, { roles: ['admin'] }) };
  const created: { id: string; token: string }[] = [];

  /** POST /v1/webhooks as `who`; fails the test unless 201. */
  async function subscribe(who: { token: string }, body: Record<string, unknown>): Promise<any> {
    const res = await api('POST', '/v1/webhooks', { token: who.token, body });
    if (res.status !== 201) throw new Error(`subscribe: ${res.status} ${JSON.stringify(res.body)}`);
    created.push({ id: res.body.id, token: who.token });
    return res.body;
  }

  /** A file uploaded to COMPLETED by `who` (4 events: session.uploaded, session.processing, job.completed, session.completed). */
  async function upload(who: { token?: string }): Promise<string> {
    const bytes = textBytes();
    const c = await createUpload(anUpload(bytes), who);
    expect(await sendBytes(c, bytes)).toBe(200);
    await waitForStatus(c.id, c.caller, ['COMPLETED']);
    return c.id;
  }

  /** Both verifiers, on the raw body as received: our SDK's and the specification's reference library. */
  async function verifyBoth(secret: string, hook: ReceivedWebhook): Promise<any> {
    const headers = {
      'webhook-id': String(hook.headers['webhook-id']),
      'webhook-timestamp': String(hook.headers['webhook-timestamp']),
      'webhook-signature': String(hook.headers['webhook-signature']),
    };
    const ours = await verifyWebhook(secret, hook.headers as Record<string, string>, hook.raw);
    const reference = new Webhook(secret).verify(hook.raw, headers);
    expect(reference).toEqual(ours);
    return ours;
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    events = await Capture.on(testEnv().DOMAIN_EVENTS_EXCHANGE);
    apps.push(
      ...(await Promise.all([
        startApp('upload-gateway'),
        startApp('upload-gateway', { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' }, { port: PORT_BASE + 5 }),
        startApp('storage-events', DELIVERY_ENV),
        startApp('job-processor', { JOB_TYPES: 'VALIDATION' }),
      ])),
    );
  });

  afterAll(async () => {
    // Subscriptions of scope all would otherwise receive the events of the tests that follow.
    for (const s of created) await api('DELETE', `/v1/webhooks/${s.id}`, { token: s.token }).catch(() => undefined);
    await Promise.all(apps.map((a) => stopApp(a)));
    await events?.close();
    await receiver?.close();
  });

  it('verified deliveries; 500 ×3 then 200 with one webhook-id; a slow receiver delays no one; 410 and long failures disable with an event', async () => {
    const verifier = await subscribe(alice, { url: receiver.on('/verify', () => ({ status: 204 })), events: ['*'], description: 'verifies everything' });
    expect(verifier.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const flaky = await subscribe(alice, {
      url: receiver.on('/flaky', (_, seen) => ({ status: seen < 3 ? 500 : 200 })),
      events: [DomainEventType.SessionCompleted],
    });
    const slow = await subscribe(alice, { url: receiver.on('/slow', () => ({ status: 200, delayMs: 6_000 })), events: ['*'] });
    const gone = await subscribe(alice, { url: receiver.on('/gone', () => ({ status: 410 })), events: [DomainEventType.SessionUploaded] });
    // Nobody but alice's receivers may see alice's events, and alice's receivers nobody else's.
    const bobs = await subscribe(bob, { url: receiver.on('/bob', () => ({ status: 200 })), events: ['*'] });

    const sessions = await Promise.all([upload(alice), upload(alice), upload(alice)]);
    const bobSession = await upload(bob);
    const anonymous = await upload({});

    // The verifier gets the 12 events of alice's uploads, each once, each verified by both libraries.
    const verified = await waitFor(
      async () => receiver.at('/verify').filter((h) => sessions.includes(JSON.parse(h.raw).data?.sessionId)),
      (hooks) => new Set(hooks.map((h) => h.webhookId)).size === 12,
      {
        timeoutMs: 30_000,
        what: '12 verified deliveries',
      },
    );
    for (const hook of receiver.at('/verify')) {
      const event = await verifyBoth(verifier.secret, hook);
      expect(hook.webhookId).toBe(event.id);
      expect(hook.headers['content-type']).toBe('application/json');
      expect(event.data.userId).toBe(`alice-${run}`);
    }
    // Not delayed by the slow receiver (5 s timeouts, 2 attempts in flight per endpoint, 4 per process):
    // each event reached the verifier well within one timeout of happening.
    const lateness = verified.map((h) => h.receivedAt - Date.parse(JSON.parse(h.raw).occurredAt));
    expect(Math.max(...lateness)).toBeLessThan(4_500);

    // The flaky receiver: four requests per event, the same webhook-id and body each time, then delivered.
    const flakyDeliveries = await waitFor(
      async () => (await api('GET', `/v1/webhooks/${flaky.id}/deliveries`, alice)).body.items,
      (items: any[]) => items.length === 3 && items.every((d) => d.status === 'DELIVERED'),
      { timeoutMs: 30_000, what: 'the flaky deliveries to be DELIVERED' },
    );
    for (const d of flakyDeliveries) {
      expect(d).toMatchObject({ eventType: 'session.completed', attempts: 4, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
      const requests = receiver.at('/flaky').filter((h) => h.webhookId === d.webhookId);
      expect(requests).toHaveLength(4);
      expect(new Set(requests.map((r) => r.raw)).size).toBe(1);
      for (const r of requests) await verifyBoth(flaky.secret, r);
    }

    // 410 Gone: the subscription is disabled at its first delivery, and a webhook.disabled event says so.
    await waitFor(
      async () => (await api('GET', `/v1/webhooks/${gone.id}`, alice)).body,
      (s) => s.enabled === false,
      { what: 'the 410 subscription disabled' },
    );
    expect((await api('GET', `/v1/webhooks/${gone.id}`, alice)).body).toMatchObject({ enabled: false, disabledReason: 'GONE' });
    // Three session.uploaded events: at most WEBHOOK_ENDPOINT_CONCURRENCY (2) were in flight when the first 410 came;
    // the rest failed without a request, replayable once the subscription is enabled again.
    const goneRequests = receiver.at('/gone').length;
    expect(goneRequests).toBeGreaterThanOrEqual(1);
    expect(goneRequests).toBeLessThanOrEqual(2);
    // (An event that arrives after the subscription is disabled gets no delivery at all.)
    const goneDeliveries = (await api('GET', `/v1/webhooks/${gone.id}/deliveries`, alice)).body.items;
    expect(goneDeliveries.map((d: any) => d.status)).toEqual(goneDeliveries.map(() => 'FAILED'));
    expect(goneDeliveries.filter((d: any) => d.lastStatusCode === 410)).toHaveLength(goneRequests);
    for (const d of goneDeliveries.filter((d: any) => d.attempts === 0)) expect(d.lastError).toBe('subscription disabled: the receiver answered 410 Gone');
    // The slow receiver's subscription fails every attempt (timeouts) for WEBHOOK_DISABLE_AFTER_SECONDS: disabled too.
    await waitFor(
      async () => (await api('GET', `/v1/webhooks/${slow.id}`, alice)).body,
      (s) => s.enabled === false,
      { timeoutMs: 60_000, what: 'the slow subscription disabled' },
    );
    expect((await api('GET', `/v1/webhooks/${slow.id}`, alice)).body).toMatchObject({
      enabled: false,
      disabledReason: 'FAILING',
      failingSince: expect.any(String),
    });
    // Never more than WEBHOOK_ENDPOINT_CONCURRENCY requests open at the slow receiver, timeouts and retries included.
    expect(receiver.maxOpen.get('/slow')).toBe(2);
    const slowDeliveries = (await api('GET', `/v1/webhooks/${slow.id}/deliveries?limit=100`, alice)).body.items;
    expect(slowDeliveries.filter((d: any) => d.status === 'FAILED').length).toBeGreaterThan(0);
    expect(slowDeliveries.find((d: any) => d.lastError?.startsWith('no answer within 5000 ms'))).toBeDefined();

    const disabledEvents = await waitFor(
      async () =>
        receiver
          .at('/verify')
          .map((h) => JSON.parse(h.raw))
          .filter((e) => e.type === DomainEventType.WebhookDisabled),
      (list) => list.length === 2,
      { timeoutMs: 30_000, what: 'two webhook.disabled events at the verifier' },
    );
    expect(disabledEvents.map((e) => [e.data.subscriptionId, e.data.reason]).sort()).toEqual(
      [
        [gone.id, 'GONE'],
        [slow.id, 'FAILING'],
      ].sort(),
    );
    expect(disabledEvents.every((e) => e.data.userId === `alice-${run}`)).toBe(true);

    // No cross-user events: bob's receiver saw only bob's upload, alice's receivers none of bob's or the anonymous one.
    const bobEvents = await waitFor(
      async () => receiver.ids('/bob'),
      (ids) => ids.size >= 4,
      { what: "bob's four events" },
    );
    expect(bobEvents.size).toBe(4);
    for (const h of receiver.at('/bob')) expect((await verifyBoth(bobs.secret, h)).data).toMatchObject({ userId: `bob-${run}`, sessionId: bobSession });
    for (const path of ['/verify', '/flaky', '/slow', '/gone']) {
      for (const h of receiver.at(path)) expect([bobSession, anonymous]).not.toContain(JSON.parse(h.raw).data.sessionId);
    }
  });

  it('replay re-sends a delivery with the same webhook-id and body', async () => {
    const sub = await subscribe(alice, { url: receiver.on('/replay', () => ({ status: 200 })), events: [DomainEventType.SessionCompleted] });
    await upload(alice);
    const [delivery] = await waitFor(
      async () => (await api('GET', `/v1/webhooks/${sub.id}/deliveries?status=DELIVERED`, alice)).body.items,
      (items: any[]) => items.length === 1,
      { what: 'one delivery' },
    );
    const first = receiver.at('/replay');
    expect(first).toHaveLength(1);

    const replayed = await api('POST', `/v1/webhooks/${sub.id}/deliveries/${delivery.id}/retry`, alice);
    expect(replayed.status).toBe(202);
    expect(replayed.body).toMatchObject({ id: delivery.id, webhookId: delivery.webhookId, status: expect.stringMatching(/^(PENDING|SENDING|DELIVERED)$/) });
    const again = await waitFor(
      async () => receiver.at('/replay'),
      (hooks) => hooks.length === 2,
      { what: 'the replay' },
    );
    expect(again[1].webhookId).toBe(first[0].webhookId);
    expect(again[1].raw).toBe(first[0].raw);
    await verifyBoth(sub.secret, again[1]);
    const after = await waitFor(
      async () => (await api('GET', `/v1/webhooks/${sub.id}/deliveries/${delivery.id}`, alice)).body,
      (d) => d.status === 'DELIVERED' && d.attempts === 2,
      { what: 'the replay recorded' },
    );
    expect(after.event).toEqual(JSON.parse(first[0].raw));
    // Someone else's delivery, or one that does not exist: 404; a disabled subscription cannot replay: 409.
    expect((await api('POST', `/v1/webhooks/${sub.id}/deliveries/${delivery.id}/retry`, bob)).status).toBe(404);
    expect((await api('POST', `/v1/webhooks/${sub.id}/deliveries/${randomUUID()}/retry`, alice)).status).toBe(404);
    expect((await api('PATCH', `/v1/webhooks/${sub.id}`, { ...alice, body: { enabled: false } })).body.enabled).toBe(false);
    expect(await api('POST', `/v1/webhooks/${sub.id}/deliveries/${delivery.id}/retry`, alice)).toMatchObject({
      status: 409,
      body: { code: 'WEBHOOK_STATE_CONFLICT' },
    });
  });

  it('rotate-secret: during the grace period every delivery carries both signatures, each valid', async () => {
    const sub = await subscribe(alice, { url: receiver.on('/rotate', () => ({ status: 200 })), events: [DomainEventType.SessionUploaded] });
    const rotated = await api('POST', `/v1/webhooks/${sub.id}/rotate-secret`, alice);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(sub.secret);
    expect(Date.parse(rotated.body.previousSecretExpiresAt)).toBeGreaterThan(Date.now() + 3600_000);
    expect((await api('GET', `/v1/webhooks/${sub.id}`, alice)).body.secret).toBeUndefined();

    await upload(alice);
    const [hook] = await waitFor(
      async () => receiver.at('/rotate'),
      (h) => h.length === 1,
      { what: 'a delivery after rotation' },
    );
    expect(String(hook.headers['webhook-signature']).split(' ')).toHaveLength(2);
    await verifyBoth(sub.secret, hook);
    await verifyBoth(rotated.body.secret, hook);
    await expect(verifyWebhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, hook.headers as Record<string, string>, hook.raw)).rejects.toThrow(
      /no signature matches/,
    );
  });

  it('SSRF: loopback, metadata, IPv6 loopback and a name resolving to a private address are refused with a 400 naming the reason', async () => {
    const refused = async (url: string) => {
      const res = await api('POST', '/v1/webhooks', { ...alice, baseUrl: STRICT_GATEWAY, body: { url, events: ['*'] } });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'url', message: expect.any(String) }]);
      return res.body.details[0].message as string;
    };
    expect(await refused('http://127.0.0.1:9/hook')).toMatch(/points to 127\.0\.0\.1, a loopback address; private targets are not allowed/);
    expect(await refused('http://169.254.169.254/latest/meta-data/')).toMatch(/169\.254\.169\.254, the cloud metadata address/);
    expect(await refused('http://[::1]:8080/hook')).toMatch(/points to ::1, a loopback address/);
    expect(await refused('http://localhost:9/hook')).toMatch(/host localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(await refused('http://10.0.0.7/hook')).toMatch(/a private address/);
    expect(await refused('ftp://example.com/hook')).toMatch(/http\(s\)/);
    expect(await refused('http://user:pw@example.com/hook')).toMatch(/credentials/);
    // A URL changed later is checked the same way.
    const ok = await api('POST', '/v1/webhooks', { ...alice, body: { url: receiver.url('/later'), events: ['*'] } });
    created.push({ id: ok.body.id, token: alice.token });
    const patched = await api('PATCH', `/v1/webhooks/${ok.body.id}`, { ...alice, baseUrl: STRICT_GATEWAY, body: { url: 'http://169.254.169.254/' } });
    expect(patched.status).toBe(400);
    expect(patched.body.details[0]).toMatchObject({ field: 'url', message: expect.stringMatching(/metadata/) });
  });

  it("ownership: another user's subscription is a 404 everywhere; an admin sees it and may subscribe to everyone's events", async () => {
    const sub = await subscribe(alice, { url: receiver.on('/owned', () => ({ status: 200 })), events: ['*'] });
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${sub.id}`],
      ['PATCH', `/v1/webhooks/${sub.id}`],
      ['DELETE', `/v1/webhooks/${sub.id}`],
      ['POST', `/v1/webhooks/${sub.id}/rotate-secret`],
      ['GET', `/v1/webhooks/${sub.id}/deliveries`],
      ['GET', '/v1/webhooks/not-a-uuid'],
    ]) {
      const res = await api(method, path, { ...bob, ...(method === 'PATCH' ? { body: { enabled: false } } : {}) });
      expect([method, path, res.status, res.body.code]).toEqual([method, path, 404, 'WEBHOOK_NOT_FOUND']);
    }
    expect((await api('GET', '/v1/webhooks', bob)).body.items.map((s: any) => s.id)).not.toContain(sub.id);
    expect((await api('GET', `/v1/webhooks/${sub.id}`, alice)).body).toMatchObject({ enabled: true, userId: `alice-${run}` });
    expect((await api('GET', `/v1/webhooks/${sub.id}`, admin)).status).toBe(200);
    expect((await api('GET', '/v1/webhooks')).status).toBe(401);
    expect((await api('POST', '/v1/webhooks', { body: { url: receiver.url('/x'), events: ['*'] } })).status).toBe(401);

    const notAdmin = await api('POST', '/v1/webhooks', { ...bob, body: { url: receiver.url('/all'), events: ['*'], scope: 'all' } });
    expect(notAdmin.status).toBe(400);
    expect(notAdmin.body.details).toEqual([{ field: 'scope', message: expect.stringMatching(/only administrators/) }]);
    const all = await subscribe(admin, { url: receiver.on('/all', () => ({ status: 200 })), events: [DomainEventType.SessionCompleted], scope: 'all' });
    const [bobs, anonymous] = [await upload(bob), await upload({})];
    await waitFor(
      async () => receiver.at('/all').map((h) => JSON.parse(h.raw).data.sessionId),
      (ids) => ids.includes(bobs) && ids.includes(anonymous),
      {
        what: "the admin's all-users subscription to get bob's and the anonymous upload",
      },
    );
    for (const h of receiver.at('/all')) await verifyBoth(all.secret, h);
  });

  it('answers 400 naming each bad field, pages deliveries by cursor, and deletes', async () => {
    const bad = await api('POST', '/v1/webhooks', { ...alice, body: { url: 'not a url', events: ['session.nope'], scope: 'everyone', extra: 1 } });
    expect(bad.status).toBe(400);
    expect(new Set(bad.body.details.map((d: any) => d.field))).toEqual(new Set(['url', 'events', 'scope', 'extra']));
    expect((await api('POST', '/v1/webhooks', { ...alice, body: { url: receiver.url('/x'), events: [] } })).body.details[0].field).toBe('events');
    const sub = await subscribe(alice, {
      url: receiver.on('/pages', () => ({ status: 200 })),
      events: [DomainEventType.SessionUploaded, DomainEventType.SessionCompleted],
    });
    expect((await api('PATCH', `/v1/webhooks/${sub.id}`, { ...alice, body: {} })).body.details[0].field).toBe('body');
    expect((await api('GET', `/v1/webhooks/${sub.id}/deliveries?status=LOST`, alice)).body.details[0].field).toBe('status');
    await upload(alice);
    await waitFor(
      async () => (await api('GET', `/v1/webhooks/${sub.id}/deliveries?status=DELIVERED`, alice)).body.items.length,
      (n) => n === 2,
      { what: 'two deliveries' },
    );
    const page1 = await api('GET', `/v1/webhooks/${sub.id}/deliveries?limit=1`, alice);
    const page2 = await api('GET', `/v1/webhooks/${sub.id}/deliveries?limit=1&cursor=${page1.body.nextCursor}`, alice);
    expect(page1.body.items).toHaveLength(1);
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.nextCursor).toBeNull();
    expect(new Set([page1.body.items[0].eventType, page2.body.items[0].eventType])).toEqual(new Set(['session.uploaded', 'session.completed']));
    expect((await api('DELETE', `/v1/webhooks/${sub.id}`, alice)).status).toBe(204);
    expect((await api('GET', `/v1/webhooks/${sub.id}`, alice)).status).toBe(404);
  });

  it('messages earlier versions left in webhooks.events are still delivered or dead-lettered with their reason; garbage on the exchange reaches no one', async () => {
    const marker = `garbage-${run}`;
    const sub = await subscribe(alice, { url: receiver.on('/after-garbage', () => ({ status: 200 })), events: [DomainEventType.SessionUploaded] });
    // On the domain events exchange, where only the relay publishes: no queue of the webhooks takes them.
    await publishRaw(testEnv().DOMAIN_EVENTS_EXCHANGE, 'session.uploaded', [`not json ${marker}`]);
    // Left in the former queue of every domain event by a version that routed them there.
    const left = {
      id: randomUUID(),
      type: DomainEventType.SessionUploaded,
      occurredAt: new Date().toISOString(),
      version: 1,
      correlationId: marker,
      data: {
        sessionId: randomUUID(),
        groupId: null,
        userId: `alice-${run}`,
        objectKey: `uploads/${marker}/left.txt`,
        bucket: testEnv().S3_BUCKET,
        status: 'UPLOADED',
        filename: 'left.txt',
        contentType: 'text/plain',
        size: 1,
        error: null,
        errorMessage: null,
      },
    };
    await publishRaw('', WebhookTopology.eventsQueue, [
      `not json ${marker}`,
      JSON.stringify({ id: marker, type: 'session.completed', version: 1, data: {} }),
      JSON.stringify(left),
    ]);
    const dead = await waitFor(
      async () => (await peekQueue(WebhookTopology.eventsDeadQueue)).filter((m) => m.body.includes(marker)),
      (l) => l.length === 2,
      { what: 'two dead letters' },
    );
    expect(dead.map((m) => String(m.headers['x-dead-letter-reason'])).sort()).toEqual([
      'MALFORMED_MESSAGE: not a domain event: id must be a uuid',
      'body is not valid JSON',
    ]);
    const uploaded = await upload(alice);
    const hooks = await waitFor(
      async () => receiver.at('/after-garbage'),
      (l) => l.length === 2,
      { what: 'the left event and the new upload delivered' },
    );
    const bodies = await Promise.all(hooks.map((h) => verifyBoth(sub.secret, h)));
    expect(bodies.map((b) => b.data.sessionId).sort()).toEqual([left.data.sessionId, uploaded].sort());
    expect(receiver.at('/after-garbage').some((h) => h.raw.includes(`not json ${marker}`))).toBe(false);
  });

  it('/docs/asyncapi.json parses with the AsyncAPI parser, names every routing key seen on the exchange, and every delivered body matches its schema', async () => {
    const res = await api('GET', '/docs/asyncapi.json');
    expect(res.status).toBe(200);
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(res.body));
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    const channels = document!
      .channels()
      .all()
      .filter((c) => c.bindings().has('amqp'));
    const byKey = new Map(channels.map((c) => [c.address()!, c]));
    const seen = new Set(events.messages.map((m) => m.routingKey));
    expect(seen.size).toBeGreaterThanOrEqual(5);
    for (const key of seen) expect(byKey.has(key)).toBe(true);

    const ajv = new Ajv({ strict: false, validateFormats: false });
    const bodies = receiver.received.map((h) => JSON.parse(h.raw));
    expect(new Set(bodies.map((b) => b.type))).toEqual(
      new Set(['session.uploaded', 'session.processing', 'job.completed', 'session.completed', 'webhook.disabled']),
    );
    for (const body of bodies) {
      const schema = byKey.get(body.type)!.messages().all()[0].payload()!.json();
      const validate = ajv.compile(schema);
      expect([body.type, validate(body), validate.errors]).toEqual([body.type, true, null]);
    }
  });
});
