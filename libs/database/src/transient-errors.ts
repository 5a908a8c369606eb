import { ConnectionException } from '@mikro-orm/core';
import { isTransientConflict } from '@app/domain';

export { isTransientConflict };

// What pg and knex say when the server went away mid-request: "Client has encountered a connection error"
// (pg, for every query on a broken client) and "Transaction query already complete" (knex, for the queries of a
// transaction whose connection broke) were seen as 500s while Postgres restarted under load.
const DATABASE_GONE =
  /Connection terminated|connect ECONNREFUSED|Knex: Timeout acquiring a connection|terminating connection|Query read timeout|timeout expired|the database system is (starting up|shutting down)|Client has encountered a connection error|Transaction query already complete/i;
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
  '57014',
]);

/**
 * Whether an error means the database is unreachable (down, restarting, out of connections) or the work lost a
 * race that a retry wins (deadlock, serialization failure), rather than that the request was wrong. Such
 * failures are retried by consumers and answered 503 with Retry-After by the gateway.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  if (e instanceof ConnectionException) return true;
  if (isTransientConflict(e)) return true;
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { code?: unknown; message?: unknown; cause?: unknown };
  if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
  if (typeof err.message === 'string' && DATABASE_GONE.test(err.message)) {
    return true;
  }
  return err.cause !== undefined && err.cause !== e && isDatabaseUnavailable(err.cause);
}
