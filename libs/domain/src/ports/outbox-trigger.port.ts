import type { CommittedOutboxRow } from '../outbox/outbox';

/** The outbox relay, as the domain sees it. */
export interface OutboxTrigger {
  /** Rows a transaction of this process has just committed (and holds): publish them now, without reading them back. */
  committed(rows: CommittedOutboxRow[]): void;
  /** A transaction wrote outbox rows it does not hold (MikroORM's): look for unpublished rows now. */
  kick(): void;
}

export const OUTBOX_TRIGGER = Symbol('OutboxTrigger');
