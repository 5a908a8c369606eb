import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, GatewayConfig } from '@app/config';
import { BUCKETS, HitWindow } from './hit-window';
import { SharedHitCounts, SharedHits } from './shared-hit-counts';

export type RateLimitName = 'writes' | 'requests';

export interface RateLimitRule {
  name: RateLimitName;
  /** Hits per window. */
  limit: number;
  windowMs: number;
}

/**
 * The gateway's per-caller rate limits (RATE_LIMIT_WRITES, RATE_LIMIT_REQUESTS per RATE_LIMIT_WINDOW_SECONDS):
 * one HitWindow per caller and limit, O(1) per request, no timer per hit. Windows nobody hit for a whole
 * window are dropped by a sweep once per window.
 *
 * With RATE_LIMIT_SYNC_MS > 0 the counts hold across gateway replicas: every RATE_LIMIT_SYNC_MS each replica
 * sends the hits it counted since the last exchange and learns what the others counted (SharedHitCounts, one
 * statement). A replica decides alone between exchanges, so a caller spreading requests over R replicas can
 * get through at most what R - 1 replicas let through in one interval beyond the limit. When the database
 * cannot be reached, each replica goes on limiting with its own counts and sends them once it can.
 */
@Injectable()
export class RateLimits implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly writes: RateLimitRule | null;
  readonly requests: RateLimitRule | null;
  private readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly syncMs: number;
  private readonly windows = new Map<string, HitWindow>();
  private readonly logger = new Logger('RateLimits');
  private timers: NodeJS.Timeout[] = [];
  private exchanging: Promise<void> | null = null;
  private lastWarning = 0;

  constructor(
    @Inject(APP_CONFIG) config: GatewayConfig,
    private readonly shared: SharedHitCounts,
  ) {
    const { writes, requests, windowSeconds, syncMs } = config.http.rateLimit;
    this.windowMs = windowSeconds * 1000;
    this.bucketMs = Math.ceil(this.windowMs / BUCKETS);
    this.writes = writes > 0 ? { name: 'writes', limit: writes, windowMs: this.windowMs } : null;
    this.requests = requests > 0 ? { name: 'requests', limit: requests, windowMs: this.windowMs } : null;
    this.syncMs = this.writes || this.requests ? syncMs : 0;
  }

  /**
   * Counts a hit of `caller` against `rule`, `weight` times (a request doing the work of several; at most the
   * limit): null when allowed, else the seconds to wait (nothing counted).
   */
  hit(rule: RateLimitRule, caller: string, now = Date.now(), weight = 1): number | null {
    // The window is part of the key: replicas with another window (a rollout) count apart.
    const key = `${rule.name}:${rule.windowMs}:${caller}`;
    let window = this.windows.get(key);
    if (!window) {
      window = new HitWindow(this.bucketMs);
      this.windows.set(key, window);
    }
    const verdict = window.hit(now, rule.limit, Math.min(weight, rule.limit));
    return verdict.allowed ? null : Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
  }

  onApplicationBootstrap(): void {
    if (!this.writes && !this.requests) return;
    this.timers.push(setInterval(() => this.sweep(Date.now()), this.windowMs));
    if (this.syncMs > 0) this.timers.push(setInterval(() => void this.exchange(), this.syncMs));
    for (const t of this.timers) t.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.syncMs > 0) await this.exchange();
  }

  /** One exchange with the other replicas at a time; resolves when this one is done. */
  exchange(now = Date.now()): Promise<void> {
    this.exchanging ??= this.exchangeNow(now).finally(() => (this.exchanging = null));
    return this.exchanging;
  }

  private async exchangeNow(now: number): Promise<void> {
    const sent: SharedHits[] = [];
    const read: string[] = [];
    const taken = new Map<string, [number, number][]>();
    for (const [key, window] of this.windows) {
      const unsent = window.takeUnsent();
      if (unsent.length > 0) taken.set(key, unsent);
      // One row per key and bucket (hits given back by a failed exchange may repeat a bucket).
      const byBucket = new Map<number, number>();
      for (const [bucket, hits] of unsent) byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + hits);
      for (const [bucket, hits] of byBucket) sent.push({ key, bucket, hits, expiresAt: (bucket + BUCKETS) * this.bucketMs });
      if (unsent.length > 0 || window.remote > 0) read.push(key);
    }
    if (read.length === 0) return;
    const oldest = Math.floor(now / this.bucketMs) - BUCKETS + 1;
    let totals: Map<string, number>;
    try {
      totals = await this.shared.exchange(sent, read, oldest);
    } catch (e) {
      // Sent next time; meanwhile this replica limits with its own counts.
      for (const [key, unsent] of taken) this.windows.get(key)?.unsent.unshift(...unsent);
      this.warn(e);
      return;
    }
    const after = Date.now();
    for (const key of read) {
      const window = this.windows.get(key);
      if (!window) continue;
      // The totals were read before this exchange's hits were added: what this replica had sent before is in them.
      const notInTotals = [...(taken.get(key) ?? []), ...window.unsent].reduce((n, [, hits]) => n + hits, 0);
      window.remote = Math.max(0, (totals.get(key) ?? 0) - (window.own(after) - notInTotals));
    }
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.own(now) === 0 && window.remote === 0 && window.unsent.length === 0) this.windows.delete(key);
    }
    if (this.syncMs > 0) this.shared.forget(now).catch((e: unknown) => this.warn(e));
  }

  private warn(e: unknown): void {
    if (Date.now() - this.lastWarning < 60_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`rate-limit counts not shared with the other replicas (each limits on its own meanwhile): ${e instanceof Error ? e.message : String(e)}`);
  }
}
