/** Deadlock detected, serialization failure: SQLSTATEs of a transaction that lost a race and may simply run again. */
const CONFLICT_CODES = new Set(['40P01', '40001']);

/**
 * Whether an error (or one it wraps: MikroORM and knex wrap the driver's) is a deadlock or serialization failure:
 * nothing is wrong with the request, it lost a race with another transaction. Transactions are run again on it.
 */
export function isTransientConflict(e: unknown): boolean {
  let err = e as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; typeof err === 'object' && err !== null && depth < 5; depth++) {
    if (typeof err.code === 'string' && CONFLICT_CODES.has(err.code)) return true;
    err = err.cause as typeof err;
  }
  return false;
}
