/** What one attempt to POST a webhook came to. */
export type WebhookAttemptResult =
  | { kind: 'response'; status: number; latencyMs: number; /** seconds, from a Retry-After header */ retryAfterSeconds: number | null }
  | { kind: 'error'; error: string; latencyMs: number };

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one webhook request: a POST with a bounded total time, redirects not followed, the target's
 * address checked at connect time. Never throws: failures are results. Implemented by libs/webhooks.
 */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookAttemptResult>;
}

export const WEBHOOK_SENDER = Symbol('WebhookSender');
