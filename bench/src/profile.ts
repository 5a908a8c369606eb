import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  startTime: number;
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples by where the code lives: our code, a package, node internals, GC, idle. */
  byArea: { area: string; ms: number; share: number }[];
  /** The functions with the most self time (not idle). */
  top: { fn: string; where: string; ms: number; share: number }[];
}

function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.includes('/dist/')) return 'our code';
  if (url.startsWith('node:') || url === '') return 'node internals';
  return 'other';
}

/** Now on the clock V8 stamps profiles with (CLOCK_MONOTONIC, µs), shared by every process of the machine. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Self time of a V8 .cpuprofile (node --cpu-prof), by area and by function, counting only the samples taken
 * within `window` (monotonic µs) when given: the workload, not the start-up's module loading.
 */
export function summarizeProfile(file: string, window?: { from: number; to: number }, topN = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    if (window && (t < window.from || t > window.to)) return;
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; ms: number }>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    const area = areaOf(n.callFrame.url, n.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    total += ms;
    if (area === 'idle') continue;
    const where = n.callFrame.url ? `${n.callFrame.url.replace(/^.*?(node_modules\/|dist\/)/, '$1')}:${n.callFrame.lineNumber + 1}` : area;
    const fn = n.callFrame.functionName || '(anonymous)';
    const key = `${fn} ${where}`;
    const f = fns.get(key) ?? { fn, where, ms: 0 };
    f.ms += ms;
    fns.set(key, f);
  }
  const busy = total - (areas.get('idle') ?? 0);
  return {
    file,
    totalMs: total,
    byArea: [...areas].map(([area, ms]) => ({ area, ms, share: ms / total })).sort((a, b) => b.ms - a.ms),
    top: [...fns]
      .map(([, f]) => ({ fn: f.fn, where: f.where, ms: f.ms, share: f.ms / busy }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN),
  };
}

export function profilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
}
