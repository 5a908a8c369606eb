import { Logger } from '@nestjs/common';

export interface MicroBatcherOptions {
  /** Names the batcher in its log lines. */
  name: string;
  /** Batches applied at once (each its own transaction): with 2, one waits on the database while the next fills. */
  concurrency: number;
  /**
   * How long the first submission of a batch waits for others to join it. 0: only what arrives in the same turn
   * of the event loop (or while the batches in flight are applied) joins, so nobody waits to fill a batch.
   */
  lingerMs: number;
  /** A batch this large goes at once, without lingering (e.g. the consumer's prefetch: no more can arrive). */
  maxItems: number;
  /**
   * An error that every submission would meet alike (the database is unavailable): the batch's submissions all
   * get it at once, instead of each being tried alone (and each waiting out the same timeout).
   */
  failsAll?: (e: unknown) => boolean;
}

interface Submission<I, O> {
  items: I[];
  /** When it was submitted (for the batch's debug line). */
  at: number;
  resolve(outputs: O[]): void;
  reject(e: unknown): void;
}

/**
 * Applies what many messages ask for as one batch (one transaction), and tells each submission its own outputs
 * once the batch is applied: a consumer acks a message only after the commit that applied it. `apply` returns
 * one output per item, in order. When a batch of several submissions fails, each is applied alone, so one bad
 * submission fails only itself; an outage (`failsAll`) fails them all at once.
 */
export class MicroBatcher<I, O> {
  private readonly logger: Logger;
  private readonly waiting: Submission<I, O>[] = [];
  private waitingItems = 0;
  private applying = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;

  constructor(
    private readonly apply: (items: I[]) => Promise<O[]>,
    private readonly options: MicroBatcherOptions,
  ) {
    this.logger = new Logger(options.name);
  }

  submit(items: I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ items, resolve, reject, at: Date.now() });
      this.waitingItems += items.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.applying >= this.options.concurrency || this.waiting.length === 0) return;
    if (this.waitingItems >= this.options.maxItems) return this.start();
    if (this.timer) return;
    // The oldest submission waits at most lingerMs in all (also when it came while batches were in flight).
    const linger = this.options.lingerMs - (Date.now() - this.waiting[0].at);
    this.timer = linger > 0 ? setTimeout(() => this.start(), linger) : setImmediate(() => this.start());
  }

  private start(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    if (this.applying >= this.options.concurrency || this.waiting.length === 0) return;
    const batch = this.waiting.splice(0);
    this.waitingItems = 0;
    this.applying++;
    void this.applyBatch(batch).finally(() => {
      this.applying--;
      this.schedule();
    });
  }

  private async applyBatch(batch: Submission<I, O>[]): Promise<void> {
    const started = Date.now();
    try {
      const outputs = await this.apply(batch.flatMap((s) => s.items));
      this.logger.debug({
        msg: 'batch applied',
        submissions: batch.length,
        waitedMs: started - Math.min(...batch.map((s) => s.at)),
        appliedMs: Date.now() - started,
      });
      let at = 0;
      for (const s of batch) {
        s.resolve(outputs.slice(at, at + s.items.length));
        at += s.items.length;
      }
    } catch (e) {
      if (batch.length === 1 || this.options.failsAll?.(e)) return batch.forEach((s) => s.reject(e));
      this.logger.warn({
        msg: 'a batch failed; applying its submissions one by one',
        submissions: batch.length,
        err: e instanceof Error ? e.message : String(e),
      });
      for (const s of batch) await this.apply(s.items).then(s.resolve, s.reject);
    }
  }
}
