import { rounds } from './apply-storage-event.usecase';

describe('rounds', () => {
  const keys = ['a', 'b', 'a', 'c', 'a', 'b'];
  it('applies each key once per round, its events in their order', () => {
    expect(rounds([0, 1, 2, 3, 4, 5], (i) => keys[i])).toEqual([[0, 1, 3], [2, 5], [4]]);
  });
  it('keeps a batch of distinct keys in one round', () => {
    expect(rounds([0, 1, 3], (i) => keys[i])).toEqual([[0, 1, 3]]);
  });
  it('has no round for no event', () => {
    expect(rounds([], (i) => keys[i])).toEqual([]);
  });
});
