/**
 * Outgoing webhooks: the queue their delivery consumes and the headers every delivery carries.
 * WARNING: the queue names are persisted in the broker and the header names are read by receivers;
 * renaming one needs a migration plan (declare the new, drain the old, then delete it).
 */
export const WebhookTopology = Object.freeze({
  /**
   * Where versions before the outbox relay recorded deliveries itself sent every domain event (bound with '#',
   * a binding the topology now removes); the delivering app drains what they left.
   */
  eventsQueue: 'webhooks.events',
  /** Messages of `webhooks.events` that are not domain events end here, with their reason. */
  eventsDeadQueue: 'webhooks.events.dead',
});

/** The Standard Webhooks headers (https://www.standardwebhooks.com). */
export const WebhookHeader = Object.freeze({
  /** The event's id: the same on every retry and replay, the receiver's idempotency key. */
  id: 'webhook-id',
  /** Unix seconds of this attempt (signed: receivers refuse old ones). */
  timestamp: 'webhook-timestamp',
  /** Space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per valid secret. */
  signature: 'webhook-signature',
});

/** Event types a subscription may name (`*` for all of them). */
export const WEBHOOK_ALL_EVENTS = '*';
