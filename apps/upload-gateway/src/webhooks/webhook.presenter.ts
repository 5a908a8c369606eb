import { WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription } from '@app/domain';

/** The public JSON of a subscription (never its secrets). */
export function presentWebhook(s: WebhookSubscription) {
  return {
    id: s.id,
    userId: s.userId,
    scope: s.scope,
    url: s.url,
    events: s.events,
    description: s.description,
    enabled: s.enabled,
    disabledReason: s.disabledReason,
    disabledAt: s.disabledAt,
    failingSince: s.failingSince,
    previousSecretExpiresAt: s.previousSecret && s.previousSecretExpiresAt && s.previousSecretExpiresAt > new Date() ? s.previousSecretExpiresAt : null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}

/** A subscription with its secret: only when it is created or its secret rotated. */
export function presentWebhookWithSecret(c: { subscription: WebhookSubscription; secret: string }) {
  return { ...presentWebhook(c.subscription), secret: c.secret };
}

export function presentDelivery(d: WebhookDelivery, withEvent = false) {
  const final = d.status === WebhookDeliveryStatus.DELIVERED || d.status === WebhookDeliveryStatus.FAILED;
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    webhookId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: final ? null : d.nextAttemptAt,
    lastAttemptAt: d.lastAttemptAt,
    lastStatusCode: d.lastStatusCode,
    lastLatencyMs: d.lastLatencyMs,
    lastError: d.lastError,
    deliveredAt: d.deliveredAt,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    ...(withEvent ? { event: JSON.parse(d.payload) as unknown } : {}),
  };
}
