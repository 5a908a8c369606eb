/**
 * Slots shared by the consumers of several queues of one kind of work (a job type's priority bands): at most
 * `slots` handlers run at once, and a freed slot goes to the waiting message of the highest band (rank 0 first),
 * the oldest of it first. Each band's consumer has its own prefetch, so a message of a higher band is delivered
 * at once however long the lower bands' backlog is, and waits here for one slot at most.
 */
export class PriorityGate {
  private running = 0;
  private readonly waiting: (() => void)[][];

  constructor(
    readonly slots: number,
    ranks: number,
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error('PriorityGate needs at least one slot');
    this.waiting = Array.from({ length: ranks }, () => []);
  }

  /** Resolves with the release function once a slot is this message's. */
  acquire(rank: number): Promise<() => void> {
    if (rank < 0 || rank >= this.waiting.length) throw new Error(`no rank ${rank}`);
    if (this.running < this.slots) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve) => this.waiting[rank].push(() => resolve(this.releaser())));
  }

  /** Messages waiting for a slot, per rank. */
  queued(): number[] {
    return this.waiting.map((w) => w.length);
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.find((w) => w.length > 0)?.shift();
      // The slot passes straight to the next message (running stays the same).
      if (next) next();
      else this.running--;
    };
  }
}
