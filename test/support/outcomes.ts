import { Pool } from 'pg';
import { sample, scrape } from './metrics';
import { waitFor } from './poll';
import { testEnv } from './test-env';

/** A counter of one app (`name{labels}`, labels matched as a subset), e.g. storage_events_outcomes_total{outcome="duplicate"}. */
export interface CounterRef {
  port: number;
  name: string;
  labels?: Record<string, string>;
}

/**
 * The apps count every outcome they reach (storage_events_outcomes_total, jobs_processed_total, ...). A test that
 * must assert "exactly once" or "nothing else happened" reads the counters before it acts, then waits until the
 * work it caused has been counted: a positive signal, not a quiet period. A message a consumer holds unacked is
 * not counted yet, and is waited for; a fixed sleep would let it land after the assertion.
 */
export class Counted {
  private constructor(private readonly base: Map<number, string>) {}

  /** Reads the /metrics of each port now, as the baseline. */
  static async from(...ports: number[]): Promise<Counted> {
    const base = new Map<number, string>();
    for (const port of new Set(ports)) base.set(port, await scrape(port));
    return new Counted(base);
  }

  /** Counters of processes started for this test: their baseline is zero (nothing can have been counted before they ran). */
  static fresh(...ports: number[]): Counted {
    return new Counted(new Map(ports.map((p) => [p, ''])));
  }

  /** This baseline and another's, for counters of apps started at different times. */
  and(other: Counted): Counted {
    return new Counted(new Map([...this.base, ...other.base]));
  }

  /** How much a counter grew since the baseline. */
  async since(ref: CounterRef): Promise<number> {
    const base = this.base.get(ref.port);
    if (base === undefined) throw new Error(`no baseline for port ${ref.port}`);
    return sample(await scrape(ref.port), ref.name, ref.labels) - sample(base, ref.name, ref.labels);
  }

  /** How much counters of several apps (e.g. every instance's) grew together since the baseline. */
  async sinceAll(refs: CounterRef[]): Promise<number> {
    let total = 0;
    for (const ref of refs) total += await this.since(ref);
    return total;
  }

  /** Waits until counters of several apps grew together by at least `n`; returns the growth. */
  async atLeastAll(refs: CounterRef[], n: number, opts: { timeoutMs?: number } = {}): Promise<number> {
    return waitFor(
      () => this.sinceAll(refs),
      (d) => d >= n,
      {
        timeoutMs: opts.timeoutMs ?? 30_000,
        intervalMs: 100,
        what: `${refs.map((r) => `${r.name}${JSON.stringify(r.labels ?? {})} on ${r.port}`).join(' + ')} to grow by ${n}`,
      },
    );
  }

  /** Waits until the counter grew by at least `n` since the baseline; returns the growth. */
  async atLeast(ref: CounterRef, n: number, opts: { timeoutMs?: number } = {}): Promise<number> {
    return waitFor(
      () => this.since(ref),
      (d) => d >= n,
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 100, what: `${ref.name}${JSON.stringify(ref.labels ?? {})} on ${ref.port} to grow by ${n}` },
    );
  }
}

/** storage_events_outcomes_total of a storage-events app (outcomes: uploaded, duplicate, ignored, dead-lettered, ...). */
export const storageOutcome = (port: number, outcome?: string): CounterRef => ({
  port,
  name: 'storage_events_outcomes_total',
  labels: outcome ? { outcome } : {},
});
/** jobs_processed_total of a job-processor app (outcomes: completed, failed, duplicate, cancelled, ...). */
export const jobOutcome = (port: number, labels: { type?: string; outcome?: string } = {}): CounterRef => ({
  port,
  name: 'jobs_processed_total',
  labels: Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== undefined)) as Record<string, string>,
});

/**
 * Waits until the outbox is empty: every message that committed work wrote has been confirmed by the broker
 * (the relay deletes a row only after its confirm), so it is already in every queue it was routed to.
 */
export async function outboxDrained(timeoutMs = 30_000): Promise<void> {
  const pool = new Pool({ connectionString: testEnv().DATABASE_URL, max: 1 });
  try {
    await waitFor(
      async () => Number((await pool.query('select count(*) as n from outbox_message')).rows[0].n),
      (n) => n === 0,
      { timeoutMs, what: 'the outbox to drain' },
    );
  } finally {
    await pool.end();
  }
}
