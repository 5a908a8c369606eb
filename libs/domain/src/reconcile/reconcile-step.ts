import type { ReconcilerSettings, ReconcilerFigures } from './reconciler';

/** Where a step reports an item it could not settle: logged and counted by the pass; the step goes on. */
export interface ReconcileErrors {
  item(step: string, item: string, error: unknown): void;
}

/**
 * One step of a reconciliation pass (Reconciler runs its list in order). A step never runs inside a transaction of
 * the pass: each item (or small batch) is its own short transaction, committed before the next one starts, and no
 * row lock is held across a call to the store or the broker. An item that throws is reported to `errors` and the
 * step goes on with the next; a step that throws as a whole (its scan failed) is counted too, and the pass goes on
 * with the next step.
 */
export interface ReconcileStep {
  /** Names the step in logs and in the `step` label of `reconciler_errors_total`. */
  readonly name: string;
  run(settings: ReconcilerSettings, errors: ReconcileErrors): Promise<Partial<ReconcilerFigures>>;
}
