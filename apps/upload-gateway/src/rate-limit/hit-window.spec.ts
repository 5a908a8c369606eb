import { BUCKETS, HitWindow } from './hit-window';

const WINDOW = 60_000;
const BUCKET = WINDOW / BUCKETS;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

describe('HitWindow', () => {
  it('lets `limit` hits through, then refuses without counting the refused ones', () => {
    const w = new HitWindow(BUCKET);
    const verdicts = Array.from({ length: 5 }, (_, i) => w.hit(T0 + i, 3).allowed);
    expect(verdicts).toEqual([true, true, true, false, false]);
    expect(w.own(T0 + 10)).toBe(3);
  });

  it('a weighted hit counts as `weight` hits, and is refused whole when they do not all fit', () => {
    const w = new HitWindow(BUCKET);
    expect(w.hit(T0, 10, 8).allowed).toBe(true);
    expect(w.hit(T0 + 1, 10, 3).allowed).toBe(false);
    expect(w.own(T0 + 2)).toBe(8);
    expect(w.hit(T0 + 3, 10, 2).allowed).toBe(true);
    expect(w.hit(T0 + 4, 10).allowed).toBe(false);
    expect(w.unsent).toEqual([[Math.floor(T0 / BUCKET), 10]]);
  });

  it('forgets a hit between 59/60 of a window and one window after it', () => {
    const w = new HitWindow(BUCKET);
    const at = T0 + 400;
    expect(w.hit(at, 1).allowed).toBe(true);
    expect(w.hit(at + WINDOW - BUCKET - 1, 1).allowed).toBe(false);
    expect(w.hit(at + WINDOW, 1).allowed).toBe(true);
  });

  it('never lets more than `limit` hits into 59/60 of a window, whatever the timing (seeded random traffic)', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const w = new HitWindow(BUCKET);
    const limit = 20;
    const allowed: number[] = [];
    let t = T0;
    for (let i = 0; i < 20_000; i++) {
      // Bursts and pauses: gaps from 0 to 3 s, now and then a long pause.
      t += random() < 0.01 ? Math.floor(random() * 2 * WINDOW) : Math.floor(random() * random() * 3000);
      if (w.hit(t, limit).allowed) allowed.push(t);
    }
    for (let i = limit; i < allowed.length; i++) expect(allowed[i] - allowed[i - limit]).toBeGreaterThanOrEqual(WINDOW - BUCKET);
    // ...and it does let traffic through: more than half of what an exact sliding log would.
    expect(allowed.length).toBeGreaterThan(((t - T0) / WINDOW) * limit * 0.5);
  });

  it('says when a refused caller may come back: then one hit goes through', () => {
    const w = new HitWindow(BUCKET);
    for (let i = 0; i < 3; i++) w.hit(T0 + i * 10_000, 3);
    const refused = w.hit(T0 + 25_000, 3);
    expect(refused.allowed).toBe(false);
    const wait = (refused as { retryAfterMs: number }).retryAfterMs;
    // The first hit (at T0) leaves the window between 59 and 60 s after it: never a wait beyond the window.
    expect(T0 + 25_000 + wait).toBeGreaterThanOrEqual(T0 + WINDOW - BUCKET);
    expect(T0 + 25_000 + wait).toBeLessThanOrEqual(T0 + WINDOW);
    expect(w.hit(T0 + 25_000 + wait - 1, 3).allowed).toBe(false);
    expect(w.hit(T0 + 25_000 + wait, 3).allowed).toBe(true);
  });

  it('counts the hits other replicas reported', () => {
    const w = new HitWindow(BUCKET);
    w.remote = 2;
    expect([w.hit(T0, 3).allowed, w.hit(T0 + 1, 3).allowed]).toEqual([true, false]);
  });

  it('keeps the hits not sent yet, one entry per bucket, until taken', () => {
    const w = new HitWindow(BUCKET);
    w.hit(T0, 10);
    w.hit(T0 + 1, 10);
    w.hit(T0 + BUCKET, 10);
    expect(w.takeUnsent()).toEqual([
      [Math.floor(T0 / BUCKET), 2],
      [Math.floor(T0 / BUCKET) + 1, 1],
    ]);
    expect(w.takeUnsent()).toEqual([]);
  });
});
