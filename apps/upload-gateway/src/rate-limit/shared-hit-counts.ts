import { Injectable } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { SQL_DATABASE, SqlDatabase } from '@app/domain';

/**
 * Adds this replica's new hits to the shared counts and reads, for the same callers, what all replicas
 * counted in the window before this exchange. One statement per exchange, whatever the traffic.
 * $1 keys, $2 buckets, $3 hits, $4 when each row may go (epoch ms), one row per key and bucket;
 * $5 keys to read; $6 the oldest bucket of the window (keys name their window, hence their bucket size).
 */
const EXCHANGE = `with added as (
     insert into rate_limit_hits (key, bucket, hits, expires_at)
     select * from unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[])
     on conflict (key, bucket) do update set hits = rate_limit_hits.hits + excluded.hits
     returning 1
   )
   select key, sum(hits)::bigint as hits from rate_limit_hits where key = any($5::text[]) and bucket >= $6::bigint group by key`;

const FORGET = 'delete from rate_limit_hits where expires_at < $1::bigint';

/**
 * The hit counts of every gateway replica, in Postgres (`rate_limit_hits`, an UNLOGGED table: counts are not
 * worth a WAL write, and after a crash they start from zero). Replicas exchange their counts every
 * RATE_LIMIT_SYNC_MS, so a caller spreading requests over replicas gets the same limit as on one, give or take
 * what the replicas let through between two exchanges.
 */
@Injectable()
export class SharedHitCounts {
  constructor(@Inject(SQL_DATABASE) private readonly sql: SqlDatabase) {}

  /** Totals per key over buckets ≥ `oldestBucket`, as they were before `hits` are added. */
  async exchange(hits: SharedHits[], read: string[], oldestBucket: number): Promise<Map<string, number>> {
    const rows = await this.sql.query<{ key: string; hits: string }>(EXCHANGE, [
      hits.map((h) => h.key),
      hits.map((h) => h.bucket),
      hits.map((h) => h.hits),
      hits.map((h) => h.expiresAt),
      read,
      oldestBucket,
    ]);
    return new Map(rows.map((r) => [r.key, Number(r.hits)]));
  }

  /** Drops the counts no window looks at any more. */
  async forget(now: number): Promise<void> {
    await this.sql.query(FORGET, [now]);
  }
}

/** New hits of one key in one bucket; `expiresAt` (epoch ms): when the bucket has left every window. */
export interface SharedHits {
  key: string;
  bucket: number;
  hits: number;
  expiresAt: number;
}
