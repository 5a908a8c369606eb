import { PriorityGate } from './priority-gate';

describe('PriorityGate', () => {
  it('runs at most `slots` at once and gives a freed slot to the highest waiting rank, oldest first', async () => {
    const gate = new PriorityGate(2, 3);
    const order: string[] = [];
    const a = await gate.acquire(2);
    const b = await gate.acquire(2);
    const waits = [
      gate.acquire(2).then((r) => (order.push('low-1'), r)),
      gate.acquire(1).then((r) => (order.push('mid-1'), r)),
      gate.acquire(2).then((r) => (order.push('low-2'), r)),
      gate.acquire(0).then((r) => (order.push('high-1'), r)),
      gate.acquire(0).then((r) => (order.push('high-2'), r)),
    ];
    expect(gate.queued()).toEqual([2, 1, 2]);
    a();
    a(); // a second release of the same slot changes nothing
    await Promise.resolve();
    expect(order).toEqual(['high-1']);
    b();
    await Promise.resolve();
    expect(order).toEqual(['high-1', 'high-2']);
    for (const w of waits.slice(0, 3)) void w.then((release) => release());
    (await waits[3])();
    (await waits[4])();
    await Promise.all(waits);
    expect(order).toEqual(['high-1', 'high-2', 'mid-1', 'low-1', 'low-2']);
    expect(gate.queued()).toEqual([0, 0, 0]);
    // Every slot free again: two start at once.
    const [x, y] = await Promise.all([gate.acquire(1), gate.acquire(1)]);
    x();
    y();
  });
});
