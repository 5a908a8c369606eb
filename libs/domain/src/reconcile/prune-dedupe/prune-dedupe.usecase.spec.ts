import { SqlDatabase } from '../../ports/sql.port';
import { PRUNE_BATCHES_PER_PASS, PruneDedupeUseCase } from './prune-dedupe.usecase';

/** A dedupe table of `old` rows past the retention: each delete statement removes up to its limit ($2). */
function fakeDb(old: number): { db: SqlDatabase; statements: number; left: () => number } {
  let rows = old;
  const state = {
    statements: 0,
    left: () => rows,
    db: {
      query: async (_text: string, values?: readonly unknown[]) => {
        state.statements++;
        const n = Math.min(rows, Number(values?.[1]));
        rows -= n;
        return Array.from({ length: n }, (_, i) => ({ identity: String(i) }));
      },
      transaction: async () => {
        throw new Error('not used');
      },
      of: () => {
        throw new Error('not used');
      },
    } as unknown as SqlDatabase,
  };
  return state;
}

describe('PruneDedupeUseCase', () => {
  it.each([
    ['an empty backlog: one statement', 0, 1, 0],
    ['fewer than a batch: one statement', 40, 1, 40],
    ['exactly two batches: a third statement finds nothing', 200, 3, 200],
    [
      'a backlog far above a pass: stops after the pass cap, the rest waits for the next pass',
      100 * PRUNE_BATCHES_PER_PASS + 50,
      PRUNE_BATCHES_PER_PASS,
      100 * PRUNE_BATCHES_PER_PASS,
    ],
  ])('%s', async (_, old, statements, pruned) => {
    const fake = fakeDb(old);
    const figures = await new PruneDedupeUseCase(fake.db).execute({ dedupeRetentionMs: 1000 }, 100);
    expect(figures.dedupePruned).toBe(pruned);
    expect(fake.statements).toBe(statements);
    expect(fake.left()).toBe(old - pruned);
  });
});
