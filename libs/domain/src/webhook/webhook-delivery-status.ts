import type { TransitionTable } from '../lifecycle/transitions';

/**
 * The lifecycle of one webhook delivery (one event to one subscription).
 * WARNING: persisted (check constraint) and shown by the API; renaming a value needs a migration.
 */
export enum WebhookDeliveryStatus {
  /** Waiting for its next attempt (`nextAttemptAt`). */
  PENDING = 'PENDING',
  /** An attempt is in flight; `nextAttemptAt` is the end of its lease (a crashed sender's delivery is taken over then). */
  SENDING = 'SENDING',
  DELIVERED = 'DELIVERED',
  /** Out of attempts, or its subscription was disabled. Replayable. */
  FAILED = 'FAILED',
}

const D = WebhookDeliveryStatus;

/** Every status write of a delivery is a compare-and-set from one of the statuses this table allows. */
export const WEBHOOK_DELIVERY_TRANSITIONS: TransitionTable<WebhookDeliveryStatus> = {
  // PENDING → PENDING: a replay of a delivery still waiting moves its next attempt to now.
  [D.PENDING]: [D.SENDING, D.FAILED, D.PENDING],
  // SENDING → SENDING: the lease of a sender that died expired and another takes the attempt over.
  [D.SENDING]: [D.DELIVERED, D.PENDING, D.FAILED, D.SENDING],
  // Replays (POST /v1/webhooks/:id/deliveries/:deliveryId/retry).
  [D.DELIVERED]: [D.PENDING],
  [D.FAILED]: [D.PENDING],
};

export const FINAL_WEBHOOK_DELIVERY_STATUSES: readonly WebhookDeliveryStatus[] = [D.DELIVERED, D.FAILED];
