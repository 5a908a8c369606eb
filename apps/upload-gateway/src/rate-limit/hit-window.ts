/** Buckets a window is cut into: a hit is forgotten between 59/60 of a window and one window after it. */
export const BUCKETS = 60;

/**
 * The hits of one caller over the last window, for one limit: O(1) per hit. Counts sit in BUCKETS buckets
 * of window / BUCKETS (a ring, plus a running sum); buckets fall out as time moves on. A hit counts until
 * its bucket leaves the window, one bucket short of a whole window at worst: so Retry-After never exceeds
 * the window, and no stretch of 59/60 of a window ever holds more hits than the limit.
 *
 * `remote`: hits other gateway replicas counted for the same caller in the window, as of their last
 * exchange (SharedHitCounts); 0 when the counts are not shared.
 */
export class HitWindow {
  private readonly counts = new Uint32Array(BUCKETS);
  /** Absolute number of the newest bucket (time / bucketMs). */
  private newest = 0;
  private sum = 0;
  remote = 0;
  /** Hits not yet sent to the other replicas, by bucket (a few buckets at most between two exchanges). */
  unsent: [bucket: number, hits: number][] = [];

  constructor(readonly bucketMs: number) {}

  /** Own hits in the window at `now`. */
  own(now: number): number {
    this.advance(Math.floor(now / this.bucketMs));
    return this.sum;
  }

  /**
   * Counts `weight` hits at `now` if the window then holds at most `limit` (own and remote); otherwise counts
   * nothing and returns the milliseconds until they would fit, if nobody hit in between.
   */
  hit(now: number, limit: number, weight = 1): { allowed: true } | { allowed: false; retryAfterMs: number } {
    const bucket = Math.floor(now / this.bucketMs);
    this.advance(bucket);
    if (this.sum + this.remote + weight <= limit) {
      this.counts[bucket % BUCKETS] += weight;
      this.sum += weight;
      const last = this.unsent[this.unsent.length - 1];
      if (last && last[0] === bucket) last[1] += weight;
      else this.unsent.push([bucket, weight]);
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: this.freedAfter(now, limit, weight) };
  }

  /** Takes the hits not yet sent (and forgets that they were not). */
  takeUnsent(): [bucket: number, hits: number][] {
    const out = this.unsent;
    this.unsent = [];
    return out;
  }

  private advance(bucket: number): void {
    if (bucket <= this.newest) return;
    if (bucket - this.newest >= BUCKETS) {
      this.counts.fill(0);
      this.sum = 0;
    } else {
      for (let b = this.newest + 1; b <= bucket; b++) {
        const i = b % BUCKETS;
        this.sum -= this.counts[i];
        this.counts[i] = 0;
      }
    }
    this.newest = bucket;
  }

  /** Walks the buckets oldest first until enough own hits have fallen out (remote ones are assumed to stay). */
  private freedAfter(now: number, limit: number, weight: number): number {
    let excess = this.sum + this.remote - limit + weight;
    for (let b = Math.max(0, this.newest - BUCKETS + 1); b <= this.newest; b++) {
      excess -= this.counts[b % BUCKETS];
      // Bucket b leaves the window when bucket b + BUCKETS begins.
      if (excess <= 0) return (b + BUCKETS) * this.bucketMs - now;
    }
    return BUCKETS * this.bucketMs;
  }
}
