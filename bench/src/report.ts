/**
 * What a scenario hands to the report: its markdown, its targets, and the raw figures for results.json.
 * The targets table is generic: any scenario adds rows to it, each naming where its threshold comes from.
 */
export interface Target {
  name: string;
  /** Where the threshold comes from (an issue, the product doc), shown beside it. */
  source?: string;
  /** The threshold, in words ("≥ 40% of the store's PUT rate"). */
  wanted: string;
  /** What this run measured. */
  measured: string;
  /** null: not measured in this run (a scenario that broke, a figure --quick does not take). */
  met: boolean | null;
  /** By how much, and why, when missed (or worth saying when met). */
  note?: string;
}

export interface Section {
  id: number;
  title: string;
  lines: string[];
  targets: Target[];
  data: unknown;
  /** Parts of the scenario that broke while the rest was measured: reported, and the bench exits non-zero. */
  failures?: string[];
}

export interface BenchContext {
  quick: boolean;
  /** Runs of each short figure (median and spread over them). */
  runs: number;
  /** Whether a CPU profile of the apps is taken (scenario 2). */
  profile: boolean;
  /** Settings forced into every app (--app-env), after the bench's own. */
  appEnv: Record<string, string>;
  log: (msg: string) => void;
}

/** A scenario: one module under src/scenarios, registered in src/scenarios/index.ts. */
export interface Scenario {
  id: number;
  /** For --only (as is the id). */
  key: string;
  title: string;
  run(ctx: BenchContext): Promise<Section>;
}

/** A markdown table; a heading starting with a space is right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string[] {
  return [`| ${head.join(' | ')} |`, `| ${head.map((h) => (h.startsWith(' ') ? '---:' : '---')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export const pct = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)}%` : 'n/a');

/** A target of the form "measured ≥ wanted" (or ≤), with the note saying by how much it was missed. */
export function thresholdTarget(t: {
  name: string;
  source?: string;
  value: number;
  limit: number;
  atLeast: boolean;
  wanted: string;
  measured: string;
  unit?: string;
  why?: string;
}): Target {
  const met = Number.isFinite(t.value) ? (t.atLeast ? t.value >= t.limit : t.value <= t.limit) : false;
  const gap = t.atLeast ? t.limit / t.value : t.value / t.limit;
  const note = met
    ? undefined
    : Number.isFinite(gap)
      ? `off by ${gap >= 10 ? `${Math.round(gap)}×` : `${gap.toFixed(2)}×`}${t.why ? `; ${t.why}` : ''}`
      : t.why;
  return { name: t.name, source: t.source, wanted: t.wanted, measured: t.measured, met, note };
}

/**
 * A failure the report shows as it was seen: the request, the status and the body. Thrown by a scenario
 * on any unexpected status, timeout or dead app; the bench then exits non-zero (in --quick too).
 */
export class BenchFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchFailure';
  }

  static status(what: string, status: number, body: unknown): BenchFailure {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new BenchFailure(`${what}: unexpected status ${status}, body ${(text ?? '').slice(0, 500)}`);
  }
}
