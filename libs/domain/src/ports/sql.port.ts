import { EntityManager } from '@mikro-orm/postgresql';

/**
 * Runs SQL statements on one connection: `$1, $2 …` parameters (arrays bind as Postgres arrays, so a batch
 * is `= any($1::uuid[])` or `unnest(…)`, one statement whatever its size). Rows come back as the driver
 * reads them (snake_case columns, bigint as string, timestamptz as text: MikroORM has the
 * driver hand dates over unparsed; `toDate` of lifecycle/records reads them).
 */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

/** A statement runner inside an open transaction. */
export interface SqlTx extends Sql {
  /** Runs once the transaction has committed (never when it rolls back or is retried). */
  afterCommit(fn: () => void): void;
}

/**
 * Where a transaction's statements go: a SqlTx of the SQL executor (the storage-events and job paths), or a
 * MikroORM EntityManager inside `em.transactional` (the gateway's use cases). Shared writers (LifecycleWriter,
 * Outbox, SessionEndings, GroupProgress, SessionSettler) take either and run the same statements.
 */
export type Tx = EntityManager | SqlTx;

export function isEntityManager(tx: Tx): tx is EntityManager {
  return tx instanceof EntityManager;
}

/**
 * The database without the ORM, for the hot paths: a statement costs the driver's round trip only. Implemented
 * by libs/database on the ORM's own connection pool.
 */
export interface SqlDatabase {
  /**
   * Runs `work` in one transaction and returns its result once committed. A deadlock or serialization failure
   * rolls back and runs `work` again (a few times): it must only write through `tx`, and act outside only in
   * `afterCommit`.
   */
  transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** One statement in a transaction of its own. */
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<R[]>;
  /** The statement runner of a transaction, whichever kind it is. */
  of(tx: Tx): Sql;
  /**
   * Runs `work` while this process holds the session-level advisory lock `key`, taken on a connection of its own
   * (outside the pool, no transaction open on it); null, without running `work`, when another session holds it.
   * `work` runs its own transactions: nothing of it waits for the lock's connection, and the lock goes with that
   * connection (the process dies, the connection breaks). An election, not a guard: `work` must stay correct if two
   * runs ever overlap.
   */
  withSessionLock<T>(key: number, work: () => Promise<T>): Promise<T | null>;
}

export const SQL_DATABASE = Symbol('SqlDatabase');
