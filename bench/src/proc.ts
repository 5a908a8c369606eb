import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) a process has spent so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields count from after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** Resident and peak resident memory (bytes) from /proc/<pid>/status. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export interface ProcessUsage {
  cpuSeconds: number;
  rssStart: number;
  rssPeak: number;
  rssEnd: number;
}

/** Samples the RSS of some processes (every 100 ms) and their CPU time between start() and stop(). */
export class UsageMeter {
  private readonly cpu0 = new Map<string, number>();
  private readonly usage = new Map<string, ProcessUsage>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number>) {}

  start(intervalMs = 100): this {
    for (const [name, pid] of Object.entries(this.pids)) {
      this.cpu0.set(name, cpuSeconds(pid));
      const rss = memory(pid).rss;
      this.usage.set(name, { cpuSeconds: 0, rssStart: rss, rssPeak: rss, rssEnd: rss });
    }
    this.timer = setInterval(() => this.sample(), intervalMs);
    return this;
  }

  private sample(): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      try {
        const u = this.usage.get(name)!;
        u.rssEnd = memory(pid).rss;
        u.rssPeak = Math.max(u.rssPeak, u.rssEnd);
      } catch {
        // the process ended; the scenario will say so
      }
    }
  }

  stop(): Record<string, ProcessUsage> {
    clearInterval(this.timer);
    this.sample();
    const out: Record<string, ProcessUsage> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const u = this.usage.get(name)!;
      out[name] = { ...u, cpuSeconds: cpuSeconds(pid) - this.cpu0.get(name)! };
    }
    return out;
  }
}
