import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { ENTITIES } from '@app/domain';
import { MIGRATIONS } from './migrations';

/** MikroORM configuration shared by the apps, the migration runner and the tests. */
/** Bounds on waiting for the database, so that a request or a message fails fast (503 / retry) instead of hanging. */
const DB_TIMEOUTS = {
  /** Waiting for a free pooled connection, and for a new one to open. */
  acquireMs: 5_000,
  connectMs: 5_000,
  /** One statement, server side (statement_timeout) and client side (a socket that stopped answering). */
  statementMs: 15_000,
  queryMs: 20_000,
};

export interface PoolOptions {
  poolMax?: number;
  /**
   * Plan the hot path's named statements once per connection (plan_cache_mode = force_generic_plan). Their
   * statements are index probes by id arrays, and their custom plans are no better; without it Postgres plans
   * them again on every call (a short array costs less than the generic estimate of ten elements), which costs
   * more server CPU than running them. Only named statements (SqlDatabase) have cached plans.
   */
  genericPlans?: boolean;
  /**
   * Sequential scans only where no index serves (enable_seqscan = off), for apps whose every statement is an index
   * probe by key (storage events, jobs). A plan made while a table looked small (a fresh install, a truncate,
   * before autoanalyze) would otherwise scan the whole table for as long as the plan is cached, and that table
   * grows: in one 15 s bench open loop (tables truncated before the scenario) the two apps' cached plans made 1,488
   * scans of processing_job reading 2.7 M rows and 2,323 of upload_session reading 2.1 M; Postgres CPU per file
   * fell from 3.2 to 2.4 ms without them. A statement with no usable index still scans.
   */
  keyedOnly?: boolean;
}

/** The `options` startup parameter (server settings) of the pool's connections. */
function serverOptions(opts: PoolOptions): string | undefined {
  const settings = [...(opts.genericPlans ? ['-c plan_cache_mode=force_generic_plan'] : []), ...(opts.keyedOnly ? ['-c enable_seqscan=off'] : [])];
  return settings.length > 0 ? settings.join(' ') : undefined;
}

export function ormConfig(clientUrl: string, opts: PoolOptions = {}) {
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    // Migrations are listed explicitly so the same config works from TypeScript sources and compiled output.
    migrations: { migrationsList: MIGRATIONS, transactional: true, allOrNothing: true, snapshot: false, tableName: 'mikro_orm_migrations' },
    pool: { min: 0, max: opts.poolMax ?? 10, acquireTimeoutMillis: DB_TIMEOUTS.acquireMs, createTimeoutMillis: DB_TIMEOUTS.connectMs },
    driverOptions: {
      acquireConnectionTimeout: DB_TIMEOUTS.acquireMs,
      connection: {
        connectionTimeoutMillis: DB_TIMEOUTS.connectMs,
        statement_timeout: DB_TIMEOUTS.statementMs,
        query_timeout: DB_TIMEOUTS.queryMs,
        ...(serverOptions(opts) ? { options: serverOptions(opts) } : {}),
      },
    },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
    debug: false,
  });
}
