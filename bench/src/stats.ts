/** Percentile by nearest rank of unsorted values (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export const median = (values: number[]) => percentile(values, 50);

/** One figure over several runs: its median and its spread (min..max). */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function figure(runs: number[]): Figure {
  return { median: median(runs), min: Math.min(...runs), max: Math.max(...runs), runs };
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max)", or just the value for a single run. */
export function fmtFigure(f: Figure, digits = 1, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  return f.runs.length > 1 ? `${fmt(f.median, digits)}${u} (${fmt(f.min, digits)}–${fmt(f.max, digits)})` : `${fmt(f.median, digits)}${u}`;
}

export const MiB = 1024 * 1024;
export const fmtMiB = (bytes: number) => `${fmt(bytes / MiB, 0)} MiB`;
