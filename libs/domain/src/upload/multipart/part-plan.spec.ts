import { DomainError } from '../../errors/domain-error';
import { MAX_PARTS, MIN_PART_SIZE, partLength, planParts } from './part-plan';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function fieldOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof DomainError ? e.details?.[0]?.field : 'not a DomainError';
  }
  return undefined;
}

describe('planParts', () => {
  it.each([
    // size, requested, default → partSize, totalParts
    [100 * MiB, 5 * MiB, 8 * MiB, 5 * MiB, 20],
    [100 * MiB + 1, 5 * MiB, 8 * MiB, 5 * MiB, 21],
    [100 * MiB, undefined, 8 * MiB, 8 * MiB, 13],
    [1, undefined, 8 * MiB, 8 * MiB, 1],
    [3 * MiB, 5 * MiB, 8 * MiB, 5 * MiB, 1],
    // the default grows to stay within 10,000 parts
    [100 * GiB, undefined, 8 * MiB, Math.ceil((100 * GiB) / MAX_PARTS), MAX_PARTS],
    // a default below S3's minimum is raised to it
    [20 * MiB, undefined, 1 * MiB, MIN_PART_SIZE, 4],
    // exactly 10,000 parts of 5 MiB
    [MAX_PARTS * MIN_PART_SIZE, MIN_PART_SIZE, 8 * MiB, MIN_PART_SIZE, MAX_PARTS],
  ])('size %d, asked %p, default %d → %d × %d', (size, requested, def, partSize, totalParts) => {
    expect(planParts(size, requested, def)).toEqual({ partSize, totalParts });
  });

  it.each([
    ['below 5 MiB', 10 * MiB, 5 * MiB - 1],
    ['above 5 GiB', 10 * MiB, 5 * GiB + 1],
    ['not an integer', 10 * MiB, 5 * MiB + 0.5],
    ['more than 10,000 parts', MAX_PARTS * MIN_PART_SIZE + 1, MIN_PART_SIZE],
  ])('a requested part size %s is a 400 naming partSize', (_, size, requested) => {
    expect(fieldOf(() => planParts(size, requested, 8 * MiB))).toBe('partSize');
  });

  it('refuses a size no part size can carry', () => {
    expect(fieldOf(() => planParts(5 * GiB * MAX_PARTS + 1, undefined, 8 * MiB))).toBe('size');
  });
});

describe('partLength', () => {
  const size = 12 * MiB + 7;
  const plan = planParts(size, 5 * MiB, 8 * MiB);
  it('is the part size except for the last part, which holds the rest', () => {
    expect(plan.totalParts).toBe(3);
    expect([1, 2, 3].map((n) => partLength(size, plan, n))).toEqual([5 * MiB, 5 * MiB, 2 * MiB + 7]);
  });
  it('adds up to the file size for any plan', () => {
    for (const [s, p] of [
      [100 * MiB, 5 * MiB],
      [7, undefined],
      [5 * GiB, undefined],
      [123456789, 6 * MiB],
    ] as const) {
      const pl = planParts(s, p, 8 * MiB);
      let sum = 0;
      for (let n = 1; n <= pl.totalParts; n++) sum += partLength(s, pl, n);
      expect(sum).toBe(s);
    }
  });
  it.each([0, 4, 1.5])('part %p is out of range', (n) => {
    expect(() => partLength(size, plan, n)).toThrow(RangeError);
  });
});
