/** What a scenario hands to the report: its markdown, its targets, and the raw figures for the JSON beside it. */
export interface Target {
  name: string;
  target: string;
  actual: string;
  met: boolean;
  /** By how much and why, when missed (or worth saying when met). */
  note?: string;
}

export interface Section {
  id: number;
  title: string;
  lines: string[];
  targets: Target[];
  data: unknown;
}

export interface BenchContext {
  quick: boolean;
  /** Runs of each measured figure (median and spread over them). */
  runs: number;
  log: (msg: string) => void;
}

/** A markdown table. */
export function table(head: string[], rows: (string | number)[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map((h) => (h.startsWith(' ') ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export const pct = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)}%` : 'n/a');
