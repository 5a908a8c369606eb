import { WebhookAttemptResult } from './ports/webhook-sender.port';
import { decideAttempt, describeAttempt, webhookRetryDelayMs } from './attempt-decision';
import { WebhookDeliveryPolicy } from './webhook-delivery-policy';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The default schedule (WEBHOOK_RETRY_SCHEDULE): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h. */
const policy: WebhookDeliveryPolicy = {
  retryScheduleMs: [5_000, 5 * MIN, 30 * MIN, 2 * HOUR, 5 * HOUR, 10 * HOUR],
  disableAfterMs: 5 * 24 * HOUR,
  leaseMs: 60_000,
  endpointConcurrency: 4,
};
const now = new Date('2026-12-01T12:00:00Z');
const response = (status: number, retryAfterSeconds: number | null = null): WebhookAttemptResult => ({
  kind: 'response',
  status,
  latencyMs: 12,
  retryAfterSeconds,
});
const timeout: WebhookAttemptResult = { kind: 'error', error: 'no answer within 10000 ms', latencyMs: 10_000 };
const decide = (result: WebhookAttemptResult, runAttempts = 1, failingSince: Date | null = null, random = () => 0.5) =>
  decideAttempt({ result, runAttempts, failingSince, now, policy, random });

describe('decideAttempt', () => {
  it.each([200, 201, 202, 204, 299])('%i is delivered', (status) => {
    expect(decide(response(status))).toEqual({ outcome: 'delivered' });
  });

  it('410 Gone disables the subscription at once, whatever the attempt', () => {
    expect(decide(response(410), 1)).toEqual({ outcome: 'gone' });
    expect(decide(response(410), 7)).toEqual({ outcome: 'gone' });
  });

  it.each([
    ['a 500', response(500)],
    ['a 404', response(404)],
    ['a redirect (not followed)', response(301)],
    ['a 429', response(429)],
    ['a timeout', timeout],
    ['a refused target', { kind: 'error', error: 'refused at connect: ...', latencyMs: 1 } as WebhookAttemptResult],
  ])('%s is retried on the schedule', (_, result) => {
    expect(decide(result, 1)).toEqual({ outcome: 'retry', nextAttemptAt: new Date(now.getTime() + 5_000) });
  });

  it('walks the schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (about 17.6 h in all), then gives up', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((n) => {
      const d = decide(response(500), n);
      return d.outcome === 'retry' ? d.nextAttemptAt.getTime() - now.getTime() : null;
    });
    expect(waits).toEqual(policy.retryScheduleMs);
    expect(waits.reduce((a, b) => a! + b!, 0)! / HOUR).toBeCloseTo(17.59, 1);
    expect(decide(response(500), 7)).toEqual({ outcome: 'failed' });
  });

  it('a subscription failing for longer than the policy allows is disabled instead of retried', () => {
    const since = new Date(now.getTime() - policy.disableAfterMs);
    expect(decide(response(500), 2, since)).toEqual({ outcome: 'disabled' });
    expect(decide(timeout, 1, since)).toEqual({ outcome: 'disabled' });
    expect(decide(response(500), 2, new Date(since.getTime() + 1))).toMatchObject({ outcome: 'retry' });
    // A success still counts as one, however long the subscription had been failing.
    expect(decide(response(200), 2, since)).toEqual({ outcome: 'delivered' });
  });
});

describe('webhookRetryDelayMs', () => {
  it('adds at most ±20% jitter', () => {
    expect(webhookRetryDelayMs(2, policy, null, () => 0)).toBe(0.8 * 5 * MIN);
    expect(webhookRetryDelayMs(2, policy, null, () => 0.999999)).toBeCloseTo(1.2 * 5 * MIN, -1);
  });

  it("honours a receiver's Retry-After when it asks for longer, up to a day", () => {
    expect(webhookRetryDelayMs(1, policy, 120, () => 0.5)).toBe(120_000);
    expect(webhookRetryDelayMs(1, policy, 1, () => 0.5)).toBe(5_000);
    expect(webhookRetryDelayMs(1, policy, 10 ** 9, () => 0.5)).toBe(24 * HOUR);
  });
});

describe('describeAttempt', () => {
  it.each([
    [response(204), { statusCode: 204, error: null }],
    [response(500), { statusCode: 500, error: 'HTTP 500' }],
    [response(302), { statusCode: 302, error: 'HTTP 302 (redirects are not followed: register the final URL)' }],
    [timeout, { statusCode: null, error: 'no answer within 10000 ms' }],
  ])('%j → %j', (result, described) => {
    expect(describeAttempt(result)).toEqual(described);
  });
});
