import type { WebhookAttemptResult } from './ports/webhook-sender.port';
import { MAX_RETRY_AFTER_MS, RETRY_JITTER, WebhookDeliveryPolicy } from './webhook-delivery-policy';

export type AttemptDecision =
  | { outcome: 'delivered' }
  | { outcome: 'retry'; nextAttemptAt: Date }
  /** Out of attempts: the delivery is FAILED (replayable). */
  | { outcome: 'failed' }
  /** 410 Gone: the delivery is FAILED and the subscription disabled (GONE). */
  | { outcome: 'gone' }
  /** Every attempt failed for longer than the policy allows: the delivery is FAILED and the subscription disabled (FAILING). */
  | { outcome: 'disabled' };

/** The wait before the next attempt, or null when the schedule is exhausted. `runAttempts` counts the one just made. */
export function webhookRetryDelayMs(
  runAttempts: number,
  policy: Pick<WebhookDeliveryPolicy, 'retryScheduleMs'>,
  retryAfterSeconds: number | null,
  random: () => number,
): number | null {
  const base = policy.retryScheduleMs[runAttempts - 1];
  if (base === undefined) return null;
  const jittered = Math.round(base * (1 - RETRY_JITTER + 2 * RETRY_JITTER * random()));
  const asked = retryAfterSeconds === null ? 0 : Math.min(retryAfterSeconds * 1000, MAX_RETRY_AFTER_MS);
  return Math.max(jittered, asked);
}

/**
 * What an attempt means for its delivery (Standard Webhooks' rules): 2xx delivered; 410 Gone disables the
 * subscription; anything else (3xx included: redirects are not followed, timeouts, refused connections) is
 * retried on the schedule, unless the subscription has been failing for longer than the policy allows.
 * `failingSince` is the subscription's first failure since its last success (before this attempt).
 */
export function decideAttempt(input: {
  result: WebhookAttemptResult;
  runAttempts: number;
  failingSince: Date | null;
  now: Date;
  policy: WebhookDeliveryPolicy;
  random?: () => number;
}): AttemptDecision {
  const { result, now, policy } = input;
  if (result.kind === 'response' && result.status >= 200 && result.status < 300) return { outcome: 'delivered' };
  if (result.kind === 'response' && result.status === 410) return { outcome: 'gone' };
  if (input.failingSince && now.getTime() - input.failingSince.getTime() >= policy.disableAfterMs) return { outcome: 'disabled' };
  const wait = webhookRetryDelayMs(input.runAttempts, policy, result.kind === 'response' ? result.retryAfterSeconds : null, input.random ?? Math.random);
  return wait === null ? { outcome: 'failed' } : { outcome: 'retry', nextAttemptAt: new Date(now.getTime() + wait) };
}

/** The status code and error text recorded for an attempt. */
export function describeAttempt(result: WebhookAttemptResult): { statusCode: number | null; error: string | null } {
  if (result.kind === 'error') return { statusCode: null, error: result.error.slice(0, 1000) };
  if (result.status >= 200 && result.status < 300) return { statusCode: result.status, error: null };
  const why = result.status >= 300 && result.status < 400 ? ' (redirects are not followed: register the final URL)' : '';
  return { statusCode: result.status, error: `HTTP ${result.status}${why}` };
}
