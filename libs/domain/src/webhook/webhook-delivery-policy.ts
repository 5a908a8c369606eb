/** How deliveries are retried, given up and leased (WEBHOOK_* settings of the delivering app). */
export interface WebhookDeliveryPolicy {
  /** Waits between attempts (ms): the first retry after [0], the next after [1], ...; attempts = length + 1. */
  retryScheduleMs: readonly number[];
  /** A subscription whose every attempt has failed for this long is disabled (reason FAILING). */
  disableAfterMs: number;
  /** How long an attempt holds its delivery: past it, the sender is presumed dead and another takes over. */
  leaseMs: number;
  /** Attempts in flight at once per subscription, over every delivering process. */
  endpointConcurrency: number;
}

export const WEBHOOK_DELIVERY_POLICY = Symbol('WebhookDeliveryPolicy');

/** Share of a wait added or removed at random, so retries after a common outage do not arrive in lockstep. */
export const RETRY_JITTER = 0.2;
/** A receiver's Retry-After is honoured up to this (ms). */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;
