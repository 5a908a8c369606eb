import { MikroORM } from '@mikro-orm/postgresql';
import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { createHash } from 'node:crypto';
import { isEntityManager, Sql, SqlDatabase, SqlTx, Tx } from '@app/domain';
import { isTransientConflict } from './transient-errors';

/** The part of a node-postgres client we use (the connections of the ORM's knex pool are node-postgres clients). */
interface PgClient {
  query(config: { text: string; values?: readonly unknown[]; name?: string }): Promise<{ rows: unknown[] }>;
  /** Set by knex when the connection broke: the pool then destroys it instead of lending it again. */
  __knex__disposed?: unknown;
}

interface KnexClientLike {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
  /** The pool's connection settings (node-postgres client config, statement timeouts included). */
  connectionSettings: object;
}

/** A LISTEN on a connection of its own; stop() ends it. */
export interface SqlListener {
  stop(): Promise<void>;
}

/** Attempts of a transaction that keeps losing to deadlocks or serialization failures before the error surfaces. */
const CONFLICT_ATTEMPTS = 4;

/** Named (server-side prepared) statements: Postgres parses and plans a hot statement once per connection. */
const names = new Map<string, string>();
const MAX_NAMED = 500;
function nameOf(text: string): string | undefined {
  let name = names.get(text);
  if (name === undefined && names.size < MAX_NAMED) {
    name = `q_${createHash('sha1').update(text).digest('base64url').slice(0, 16)}`;
    names.set(text, name);
  }
  return name;
}

async function run<R>(client: PgClient, text: string, values: readonly unknown[] = []): Promise<R[]> {
  const result = await client.query({ text, values, name: nameOf(text) });
  return result.rows as R[];
}

/**
 * SqlDatabase on node-postgres, borrowing connections from MikroORM's own pool (one pool per process, sized by
 * the ORM config): no entity hydration, no change sets, no client-side query formatting, so a statement costs
 * about a tenth of the ORM's CPU. Used by the hot paths (storage events, jobs, the outbox relay); the gateway's
 * MikroORM transactions reach the same writers through `of(em)`.
 */
export class PgSqlDatabase implements SqlDatabase {
  private knexClient: KnexClientLike | null = null;

  constructor(private readonly orm: MikroORM) {}

  private get pool(): KnexClientLike {
    this.knexClient ??= this.orm.em.getConnection().getKnex().client as KnexClientLike;
    return this.knexClient;
  }

  async query<R = Record<string, unknown>>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    const pool = this.pool;
    const client = (await pool.acquireConnection()) as PgClient;
    try {
      return await run<R>(client, text, values);
    } finally {
      await pool.releaseConnection(client);
    }
  }

  async transaction<T>(work: (tx: SqlTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const hooks: (() => void)[] = [];
      try {
        const result = await this.attempt(work, hooks);
        for (const hook of hooks) hook();
        return result;
      } catch (e) {
        if (!isTransientConflict(e) || attempt >= CONFLICT_ATTEMPTS) throw e;
        // The other transaction usually commits within milliseconds; jitter keeps two losers from meeting again.
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 20 * attempt));
      }
    }
  }

  private async attempt<T>(work: (tx: SqlTx) => Promise<T>, hooks: (() => void)[]): Promise<T> {
    const pool = this.pool;
    const client = (await pool.acquireConnection()) as PgClient;
    try {
      await client.query({ text: 'begin' });
      try {
        const tx: SqlTx = { query: (text, values) => run(client, text, values), afterCommit: (fn) => void hooks.push(fn) };
        const result = await work(tx);
        await client.query({ text: 'commit' });
        return result;
      } catch (e) {
        hooks.length = 0;
        await client.query({ text: 'rollback' }).catch((err: unknown) => {
          // A connection that cannot even roll back is broken: the pool must not lend it again.
          client.__knex__disposed = err;
        });
        throw e;
      }
    } finally {
      await pool.releaseConnection(client);
    }
  }

  async withSessionLock<T>(key: number, work: () => Promise<T>): Promise<T | null> {
    const holder = new Client(this.pool.connectionSettings as ConstructorParameters<typeof Client>[0]);
    // A broken holder connection releases the lock; `work` goes on (its statements use the pool), and another
    // replica may start a run meanwhile: the callers' writes are compare-and-sets.
    holder.on('error', (e) => new Logger('SqlDatabase').warn(`advisory lock ${key}: its connection was lost (${e.message})`));
    await holder.connect();
    try {
      const [{ locked }] = (await holder.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [key])).rows;
      if (!locked) return null;
      return await work();
    } finally {
      // Ending the session releases its advisory locks.
      await holder.end().catch(() => undefined);
    }
  }

  /**
   * LISTEN on `channel` on a connection of its own (outside the pool), reconnecting after a loss (a
   * notification sent meanwhile is missed: callers keep a timer as well). `onNotify` runs per notification.
   */
  async listen(channel: string, onNotify: () => void): Promise<SqlListener> {
    const logger = new Logger('SqlListener');
    let client: Client | null = null;
    let stopped = false;
    const connect = async (): Promise<void> => {
      if (stopped) return;
      const c = new Client(this.pool.connectionSettings as ConstructorParameters<typeof Client>[0]);
      c.on('notification', () => onNotify());
      c.on('error', (e) => logger.warn(`LISTEN ${channel} connection lost: ${e.message}`));
      c.on('end', () => {
        if (client === c && !stopped) setTimeout(() => void connect().catch(() => undefined), 1_000).unref();
      });
      try {
        await c.connect();
        await c.query(`listen "${channel.replace(/"/g, '""')}"`);
        client = c;
      } catch (e) {
        logger.warn(`LISTEN ${channel} failed: ${e instanceof Error ? e.message : String(e)}; retrying`);
        await c.end().catch(() => undefined);
        setTimeout(() => void connect().catch(() => undefined), 2_000).unref();
      }
    };
    await connect();
    return {
      stop: async () => {
        stopped = true;
        await client?.end().catch(() => undefined);
      },
    };
  }

  of(tx: Tx): Sql {
    if (!isEntityManager(tx)) return tx;
    const trx = tx.getTransactionContext<{ client: KnexClientLike }>();
    if (!trx) return this;
    // Inside em.transactional: the knex transaction's client hands out the transaction's own connection.
    return { query: async <R>(text: string, values?: readonly unknown[]) => run<R>((await trx.client.acquireConnection()) as PgClient, text, values) };
  }
}
