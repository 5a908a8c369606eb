import { MicroBatcher, MicroBatcherOptions } from './micro-batcher';

/** A batcher whose batches are recorded; items ending in '!' make any batch holding them fail. */
function aBatcher(options: Partial<MicroBatcherOptions> = {}) {
  const batches: string[][] = [];
  let release: (() => void) | null = null;
  let hold = false;
  const batcher = new MicroBatcher<string, string>(
    async (items) => {
      batches.push(items);
      if (hold) await new Promise<void>((r) => (release = r));
      if (items.some((i) => i.endsWith('!'))) throw new Error(`bad item in ${items.join(',')}`);
      return items.map((i) => i.toUpperCase());
    },
    { name: 'test', concurrency: 1, lingerMs: 0, maxItems: Infinity, ...options },
  );
  return {
    batcher,
    batches,
    holdBatches: () => (hold = true),
    releaseBatch: () => {
      hold = false;
      release?.();
    },
  };
}

describe('MicroBatcher', () => {
  it('applies what is submitted in the same turn as one batch and gives each submission its own outputs', async () => {
    const { batcher, batches } = aBatcher();
    const out = await Promise.all([batcher.submit(['a', 'b']), batcher.submit(['c']), batcher.submit([])]);
    expect(out).toEqual([['A', 'B'], ['C'], []]);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('collects submissions while a batch is applied into the next batch', async () => {
    const { batcher, batches, holdBatches, releaseBatch } = aBatcher();
    holdBatches();
    const first = batcher.submit(['a']);
    await new Promise((r) => setImmediate(r));
    const later = [batcher.submit(['b']), batcher.submit(['c'])];
    releaseBatch();
    expect(await first).toEqual(['A']);
    expect(await Promise.all(later)).toEqual([['B'], ['C']]);
    expect(batches).toEqual([['a'], ['b', 'c']]);
  });

  it('waits up to lingerMs for more, but goes at once when maxItems are waiting', async () => {
    const { batcher, batches } = aBatcher({ lingerMs: 60_000, maxItems: 3 });
    const out = await Promise.all([batcher.submit(['a']), batcher.submit(['b']), batcher.submit(['c'])]);
    expect(out).toEqual([['A'], ['B'], ['C']]);
    expect(batches).toEqual([['a', 'b', 'c']]);

    // A later turn of the event loop (a batch with lingerMs 0 would have gone by then) still joins the lingering one.
    const lingering = aBatcher({ lingerMs: 200, maxItems: 100 });
    const p = lingering.batcher.submit(['x']);
    await new Promise((r) => setImmediate(r));
    const q = lingering.batcher.submit(['y']);
    expect(await Promise.all([p, q])).toEqual([['X'], ['Y']]);
    expect(lingering.batches).toEqual([['x', 'y']]);
  });

  it('fails only the bad submission of a failed batch: the others are applied alone', async () => {
    const { batcher, batches } = aBatcher();
    const results = await Promise.allSettled([batcher.submit(['a']), batcher.submit(['b!']), batcher.submit(['c'])]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([['A'], 'bad item in b!', ['C']]);
    expect(batches).toEqual([['a', 'b!', 'c'], ['a'], ['b!'], ['c']]);
  });

  it('fails every submission at once on an error they would all meet (an outage), without trying each alone', async () => {
    const { batcher, batches } = aBatcher({ failsAll: (e) => (e as Error).message.startsWith('bad item') });
    const results = await Promise.allSettled([batcher.submit(['a']), batcher.submit(['b!'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(batches).toEqual([['a', 'b!']]);
  });
});
