/**
 * Decides whether a URL may receive webhooks (scheme, and no loopback, private, link-local or metadata
 * address behind its host). Implemented by libs/webhooks; the HTTP sender applies the same rule again at
 * connect time, to the address it actually connects to.
 */
export interface WebhookTargetGuard {
  /** null when the URL is acceptable, else the reason it is refused (shown to the caller). */
  check(url: string): Promise<string | null>;
}

export const WEBHOOK_TARGET_GUARD = Symbol('WebhookTargetGuard');
