import type { EntityManager } from '@mikro-orm/postgresql';
import type { WebhookDisabledReason } from '@app/contracts';
import type { UnitOfWork } from '../../outbox/unit-of-work';
import type { WebhookAttemptResult, WebhookRequest, WebhookSender } from '../ports/webhook-sender.port';
import type { WebhookSigning } from '../ports/webhook-signing.port';
import type { AttemptRecord, ClaimedDelivery, WebhookDeliveries } from '../webhook-deliveries';
import type { WebhookDeliveryPolicy } from '../webhook-delivery-policy';
import { WebhookDeliveryStatus } from '../webhook-delivery-status';
import type { WebhookEvents } from '../webhook-events';
import type { DisabledSubscription, WebhookSubscriptions } from '../webhook-subscriptions';
import { DeliverWebhookUseCase } from './deliver-webhook.usecase';

/** In-memory stand-ins for the use case's Postgres classes: one subscription, its deliveries, the events written. */
class World {
  subscription = {
    id: 'sub-1',
    userId: 'alice',
    url: 'https://hooks.example.com/x',
    enabled: true,
    failingSince: null as Date | null,
    disabledReason: null as WebhookDisabledReason | null,
  };
  deliveries = new Map<string, { status: WebhookDeliveryStatus; attempts: number; record?: AttemptRecord; next?: Date | null }>();
  events: { reason: WebhookDisabledReason; s: DisabledSubscription }[] = [];
  sent: WebhookRequest[] = [];

  readonly store = {
    recordAttempt: async (
      _em: unknown,
      claimed: Pick<ClaimedDelivery, 'id' | 'attempts'>,
      to: WebhookDeliveryStatus,
      record: AttemptRecord,
      next: Date | null,
    ) => {
      const d = this.deliveries.get(claimed.id);
      if (!d || d.status !== WebhookDeliveryStatus.SENDING || d.attempts !== claimed.attempts) return false;
      Object.assign(d, { status: to, record, next });
      return true;
    },
    failWaiting: async (_em: unknown, _id: string, reason: string) => {
      let n = 0;
      for (const d of this.deliveries.values())
        if (d.status === WebhookDeliveryStatus.PENDING)
          Object.assign(d, { status: WebhookDeliveryStatus.FAILED, record: { statusCode: null, latencyMs: 0, error: reason } }) && n++;
      return n;
    },
  } as unknown as WebhookDeliveries;

  readonly subscriptions = {
    lock: async () => ({ enabled: this.subscription.enabled }),
    markHealthy: async () => void (this.subscription.failingSince = null),
    markFailing: async () => void (this.subscription.failingSince ??= new Date()),
    disable: async (_em: unknown, _id: string, reason: WebhookDisabledReason): Promise<DisabledSubscription | null> => {
      if (!this.subscription.enabled) return null;
      Object.assign(this.subscription, { enabled: false, disabledReason: reason });
      return {
        id: this.subscription.id,
        userId: this.subscription.userId,
        url: this.subscription.url,
        failingSince: this.subscription.failingSince,
        disabledAt: new Date(),
      };
    },
  } as unknown as WebhookSubscriptions;

  readonly webhookEvents = {
    disabled: (_em: unknown, s: DisabledSubscription, reason: WebhookDisabledReason) => void this.events.push({ s, reason }),
  } as unknown as WebhookEvents;
  readonly uow = { run: <T>(work: (em: EntityManager) => Promise<T>) => work({} as EntityManager) } as unknown as UnitOfWork;

  sender(answer: (req: WebhookRequest) => WebhookAttemptResult): WebhookSender {
    return { send: async (req) => (this.sent.push(req), answer(req)) };
  }

  claimed(id: string, over: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
    this.deliveries.set(id, { status: WebhookDeliveryStatus.SENDING, attempts: over.attempts ?? 1 });
    return {
      id,
      subscriptionId: this.subscription.id,
      eventId: `evt-${id}`,
      eventType: 'session.completed',
      payload: JSON.stringify({ id: `evt-${id}`, type: 'session.completed' }),
      attempts: 1,
      runAttempts: 1,
      url: this.subscription.url,
      secret: 'whsec_' + Buffer.alloc(32, 1).toString('base64'),
      previousSecret: null,
      previousSecretExpiresAt: null,
      failingSince: this.subscription.failingSince,
      ...over,
    };
  }
}

/** Signs as `v1,<secret>|<id>.<timestamp>.<body>`, so a test reads what was signed with what (the real signer is checked against the reference library in libs/webhooks). */
const signing: WebhookSigning = { newSecret: () => 'whsec_x', sign: (secrets, id, ts, body) => secrets.map((s) => `v1,${s}|${id}.${ts}.${body}`).join(' ') };
const policy: WebhookDeliveryPolicy = { retryScheduleMs: [5_000, 300_000], disableAfterMs: 3_600_000, leaseMs: 25_000, endpointConcurrency: 4 };
const ok = (status: number): WebhookAttemptResult => ({ kind: 'response', status, latencyMs: 7, retryAfterSeconds: null });
const useCase = (w: World, answer: (req: WebhookRequest) => WebhookAttemptResult) =>
  new DeliverWebhookUseCase({} as EntityManager, w.uow, w.store, w.subscriptions, w.webhookEvents, w.sender(answer), signing, policy);

describe('DeliverWebhookUseCase (in-memory fakes of its stores)', () => {
  it('sends the stored body with the Standard Webhooks headers, signed with the current and the previous (still valid) secret, and records the delivery', async () => {
    const w = new World();
    const previous = 'whsec_' + Buffer.alloc(32, 2).toString('base64');
    const claimed = w.claimed('d1', { previousSecret: previous, previousSecretExpiresAt: new Date(Date.now() + 60_000) });
    expect(await useCase(w, () => ok(204)).attempt(claimed)).toMatchObject({ outcome: 'delivered' });
    const [req] = w.sent;
    expect(req).toMatchObject({ url: claimed.url, body: claimed.payload, headers: { 'content-type': 'application/json', 'webhook-id': 'evt-d1' } });
    const ts = req.headers['webhook-timestamp'];
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(5);
    expect(req.headers['webhook-signature']).toBe([claimed.secret, previous].map((s) => `v1,${s}|evt-d1.${ts}.${claimed.payload}`).join(' '));
    expect(w.deliveries.get('d1')).toMatchObject({ status: 'DELIVERED', record: { statusCode: 204, error: null } });
  });

  it('a 500 schedules a retry and marks the subscription failing; a later success clears it', async () => {
    const w = new World();
    const before = Date.now();
    expect(await useCase(w, () => ok(500)).attempt(w.claimed('d1'))).toMatchObject({ outcome: 'retry' });
    const d = w.deliveries.get('d1')!;
    expect(d).toMatchObject({ status: 'PENDING', record: { statusCode: 500, error: 'HTTP 500' } });
    expect(d.next!.getTime() - before).toBeGreaterThanOrEqual(4_000);
    expect(w.subscription.failingSince).not.toBeNull();
    await useCase(w, () => ok(200)).attempt(w.claimed('d2'));
    expect(w.subscription.failingSince).toBeNull();
  });

  it('410 disables the subscription once, with one webhook.disabled event, and fails its waiting deliveries', async () => {
    const w = new World();
    w.deliveries.set('waiting', { status: WebhookDeliveryStatus.PENDING, attempts: 0 });
    const [a, b] = [w.claimed('d1'), w.claimed('d2')];
    expect(await useCase(w, () => ok(410)).attempt(a)).toMatchObject({ outcome: 'gone' });
    expect(await useCase(w, () => ok(410)).attempt(b)).toMatchObject({ outcome: 'gone' });
    expect(w.subscription).toMatchObject({ enabled: false, disabledReason: 'GONE' });
    expect(w.events.map((e) => e.reason)).toEqual(['GONE']);
    expect(w.deliveries.get('waiting')).toMatchObject({ status: 'FAILED', record: { error: 'subscription disabled: the receiver answered 410 Gone' } });
  });

  it('failing for longer than the policy allows disables the subscription (FAILING)', async () => {
    const w = new World();
    w.subscription.failingSince = new Date(Date.now() - policy.disableAfterMs - 1);
    expect(await useCase(w, () => ({ kind: 'error', error: 'no answer within 10000 ms', latencyMs: 10_000 })).attempt(w.claimed('d1'))).toMatchObject({
      outcome: 'disabled',
    });
    expect(w.events).toEqual([{ reason: 'FAILING', s: expect.objectContaining({ id: 'sub-1', userId: 'alice' }) }]);
    expect(w.deliveries.get('d1')).toMatchObject({ status: 'FAILED', record: { error: 'no answer within 10000 ms' } });
  });

  it('no retry is scheduled under a subscription disabled while the attempt was in flight', async () => {
    const w = new World();
    const claimed = w.claimed('d1');
    w.subscription.enabled = false;
    expect(await useCase(w, () => ok(503)).attempt(claimed)).toMatchObject({ outcome: 'failed' });
    expect(w.deliveries.get('d1')).toMatchObject({ status: 'FAILED', record: { error: 'HTTP 503; subscription disabled meanwhile' } });
  });

  it('an attempt whose delivery was taken over (lease expired) records nothing', async () => {
    const w = new World();
    const claimed = w.claimed('d1');
    w.deliveries.get('d1')!.attempts = 2;
    expect(await useCase(w, () => ok(200)).attempt(claimed)).toMatchObject({ outcome: 'superseded' });
    expect(w.deliveries.get('d1')).toMatchObject({ status: 'SENDING', attempts: 2 });
    expect(w.subscription.failingSince).toBeNull();
  });
});

describe('signing secrets', () => {
  it('the previous secret signs only until its grace period ends', async () => {
    const w = new World();
    const old = w.claimed('d1', { previousSecret: 'whsec_old', previousSecretExpiresAt: new Date(Date.now() - 1) });
    await useCase(w, () => ok(200)).attempt(old);
    expect(w.sent[0].headers['webhook-signature'].split(' ')).toHaveLength(1);
  });
});
