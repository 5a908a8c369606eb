import { ProgressMeter, UploadProgress } from './progress';

describe('ProgressMeter', () => {
  it('counts acknowledged bytes and parts, never backwards, with a rate and an ETA from recent samples', () => {
    let now = 1_000;
    const seen: UploadProgress[] = [];
    const m = new ProgressMeter(
      'f.bin',
      100,
      4,
      (p) => seen.push(p),
      () => now,
      's1',
    );
    m.emit();
    now += 1_000;
    m.add(25);
    now += 1_000;
    m.add(25);
    expect(seen.map((p) => [p.bytesUploaded, p.partsUploaded, p.percent])).toEqual([
      [0, 0, 0],
      [25, 1, 25],
      [50, 2, 50],
    ]);
    expect(seen[2]).toMatchObject({ bytesPerSecond: 25, etaSeconds: 2, elapsedMs: 2_000, sessionId: 's1', totalParts: 4 });
  });

  it('counts what the store held before a resume, but not in the rate', () => {
    let now = 0;
    const seen: UploadProgress[] = [];
    const m = new ProgressMeter(
      'f.bin',
      100,
      4,
      (p) => seen.push(p),
      () => now,
    );
    m.alreadyHeld(50, 2);
    now += 2_000;
    m.add(20);
    expect(seen[0]).toMatchObject({ bytesUploaded: 50, partsUploaded: 2, percent: 50, etaSeconds: null });
    expect(seen[1]).toMatchObject({ bytesUploaded: 70, bytesPerSecond: 10, etaSeconds: 3 });
  });

  it('ends at exactly 100% with nothing left', () => {
    const seen: UploadProgress[] = [];
    const m = new ProgressMeter('f.bin', 10, 1, (p) => seen.push(p));
    m.add(10);
    expect(seen.at(-1)).toMatchObject({ bytesUploaded: 10, percent: 100, etaSeconds: 0, partsUploaded: 1 });
  });
});
