/** Told after a transaction that wrote outbox rows has committed, so the relay publishes them now. */
export interface OutboxTrigger {
  kick(): void;
}

export const OUTBOX_TRIGGER = Symbol('OutboxTrigger');
