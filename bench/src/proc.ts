import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Stat {
  comm: string;
  ppid: number;
  /** user + system CPU seconds */
  cpu: number;
  /** seconds after boot the process started */
  startedAt: number;
}

function stat(pid: number): Stat {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields count from after its closing parenthesis.
  const close = raw.lastIndexOf(')');
  const f = raw.slice(close + 2).split(' ');
  return {
    comm: raw.slice(raw.indexOf('(') + 1, close),
    ppid: Number(f[1]),
    cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    startedAt: Number(f[19]) / CLK_TCK,
  };
}

/** CPU seconds (user + system) a process has spent so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  return stat(pid).cpu;
}

/** Seconds since boot, the clock of /proc/<pid>/stat's start time. */
export function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Seconds after boot at which the process started. */
export function startedAt(pid: number): number {
  return stat(pid).startedAt;
}

export function commOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** The process title (argv joined by spaces; Postgres rewrites it to "postgres: user db host(port) state"). */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Children of a process: /proc/<pid>/task/<pid>/children where the kernel has it, else one pass over /proc. */
export function childrenOf(ppid: number): number[] {
  try {
    return readFileSync(`/proc/${ppid}/task/${ppid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no such file (kernel without CONFIG_PROC_CHILDREN): scan
  }
  const out: number[] = [];
  for (const pid of allPids()) {
    try {
      if (stat(pid).ppid === ppid) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The pid of the process listening on a local TCP port (the server behind a URL), or null. */
export function pidListeningOn(port: number): number | null {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is field 9
      if (f.length > 9 && f[3] === '0A' && parseInt(f[1].split(':')[1], 16) === port) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of allPids()) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1])) return pid;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
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
