import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { benchEnv } from './env';
import { childrenOf, cmdlineOf, commOf, cpuSeconds, memory, pidListeningOn, startedAt, uptimeSeconds } from './proc';
import { pct, table } from './report';
import { Figure, figure, fmt, fmtFigure } from './stats';

/**
 * Where every millisecond goes: CPU of every process on a request's path, read from /proc, and what the
 * database did (commits from pg_stat_database, statements from pg_stat_statements) over the same window.
 */

/** A named set of processes whose CPU is summed; its members may change during a window (Postgres backends). */
export interface ProcessGroup {
  name: string;
  /** Said under the table: what the group holds, and whether others' work is in it. */
  note?: string;
  /** A server other tenants of the machine use too: its idle rate is others' load as much as ours, so never subtracted. */
  shared?: boolean;
  pids(): number[];
}

const fixed = (name: string, pid: number | null, note?: string, shared = false): ProcessGroup | null =>
  pid ? { name, note, shared, pids: () => [pid] } : null;

const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);

const BACKEND_TITLE = /^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])/;

/** The postmaster's children with the database of each client backend (null: a background process), cached for a second. */
function postgresChildren(postmaster: number): () => Map<number, string | null> {
  let at = 0;
  let cached = new Map<number, string | null>();
  return () => {
    if (performance.now() - at < 1000) return cached;
    const titles = new Map<number, string | null>();
    for (const pid of childrenOf(postmaster)) titles.set(pid, cached.has(pid) ? cached.get(pid)! : (BACKEND_TITLE.exec(cmdlineOf(pid))?.[1] ?? null));
    cached = titles;
    at = performance.now();
    return cached;
  };
}

function pidFile(file: string, comm: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 && commOf(pid) === comm ? pid : null;
}

/**
 * The processes on the path of the bench's requests: our apps (given), Postgres (the backends of the named
 * databases; the cluster's background processes apart), RabbitMQ (the node behind AMQP_URL), the store
 * (radosgw behind S3_ENDPOINT; ceph-osd and ceph-mon from infra:up's pid files) and the load generator.
 * `excludeBackends`: the bench's own connections (DbStats.backendPid), not part of the path.
 */
export function pathProcesses(opts: {
  apps: Record<string, number>;
  databases: string[];
  extra?: Record<string, number>;
  excludeBackends?: number[];
}): ProcessGroup[] {
  const env = benchEnv();
  const groups: (ProcessGroup | null)[] = Object.entries(opts.apps).map(([name, pid]) => fixed(name, pid));
  const postmaster = pidListeningOn(portOf(env.DATABASE_URL, 5432));
  if (postmaster) {
    const children = postgresChildren(postmaster);
    const exclude = new Set(opts.excludeBackends ?? []);
    groups.push({
      name: 'Postgres: backends of the measured database',
      note: `client backends of ${opts.databases.join(', ')} (ours alone), recognised by their process titles`,
      pids: () => [...children()].filter(([pid, db]) => db !== null && opts.databases.includes(db) && !exclude.has(pid)).map(([pid]) => pid),
    });
    groups.push({
      name: 'Postgres: background (whole cluster)',
      note: 'postmaster, checkpointer, WAL writer, background writer, autovacuum: cluster-wide, so other databases on this server count in it',
      shared: true,
      pids: () => [postmaster, ...[...children()].filter(([, db]) => db === null).map(([pid]) => pid)],
    });
  }
  const rabbit = pidListeningOn(portOf(env.AMQP_URL, 5672));
  groups.push(fixed(`RabbitMQ (${rabbit ? commOf(rabbit) : 'n/a'})`, rabbit, 'the whole node: other vhosts on this broker count in it', true));
  const store = pidListeningOn(portOf(env.S3_ENDPOINT, 80));
  groups.push(fixed(`store: ${store ? commOf(store) : 'n/a'}`, store, 'the whole store (with ceph-osd and ceph-mon): other buckets on it count in it', true));
  const cephDir = env.CEPH_DIR ?? '/tmp/upload-platform-ceph';
  if (store && commOf(store) === 'radosgw') {
    groups.push(fixed('store: ceph-osd', pidFile(join(cephDir, 'run/osd.0.pid'), 'ceph-osd'), undefined, true));
    groups.push(fixed('store: ceph-mon', pidFile(join(cephDir, 'run/mon.a.pid'), 'ceph-mon'), undefined, true));
  }
  for (const [name, pid] of Object.entries(opts.extra ?? {})) groups.push(fixed(name, pid));
  groups.push(fixed('load generator (the bench process)', process.pid, 'clients, autocannon, the event listener'));
  return groups.filter((g): g is ProcessGroup => g !== null);
}

export interface CpuWindow {
  seconds: number;
  /** CPU seconds per group. */
  cpu: Record<string, number>;
  /** Peak and start RSS per group (sum over its members). */
  rssStart: Record<string, number>;
  rssPeak: Record<string, number>;
}

/** CPU of process groups between start() and stop(), sampling membership (and RSS) every `intervalMs`. */
export class CpuMeter {
  private base = new Map<number, number>();
  private last = new Map<number, number>();
  private member = new Map<number, string>();
  private rssStart: Record<string, number> = {};
  private rssPeak: Record<string, number> = {};
  private t0 = 0;
  private boot0 = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly groups: ProcessGroup[],
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.t0 = performance.now();
    this.boot0 = uptimeSeconds();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), this.intervalMs);
    return this;
  }

  private sample(first: boolean): void {
    for (const g of this.groups) {
      let rss = 0;
      let pids: number[] = [];
      try {
        pids = g.pids();
      } catch {
        // the group's processes are gone; what was sampled stays
      }
      for (const pid of pids) {
        try {
          const cpu = cpuSeconds(pid);
          if (!this.base.has(pid)) {
            // A process born within the window spent all its CPU in it; one found later, only what follows.
            this.base.set(pid, !first && startedAt(pid) >= this.boot0 ? 0 : cpu);
            this.member.set(pid, g.name);
          }
          this.last.set(pid, cpu);
          rss += memory(pid).rss;
        } catch {
          // exited between listing and reading
        }
      }
      if (first) this.rssStart[g.name] = rss;
      this.rssPeak[g.name] = Math.max(this.rssPeak[g.name] ?? 0, rss);
    }
  }

  stop(): CpuWindow {
    clearInterval(this.timer);
    this.sample(false);
    const cpu: Record<string, number> = Object.fromEntries(this.groups.map((g) => [g.name, 0]));
    for (const [pid, name] of this.member) cpu[name] += this.last.get(pid)! - this.base.get(pid)!;
    return { seconds: (performance.now() - this.t0) / 1000, cpu, rssStart: this.rssStart, rssPeak: this.rssPeak };
  }
}

// ---------------------------------------------------------------- the database's side

export interface StatementStats {
  query: string;
  calls: number;
  totalMs: number;
  rows: number;
}

export interface DbSnapshot {
  at: number;
  commits: number;
  rollbacks: number;
  /** By queryid; null when pg_stat_statements is not available in this database. */
  statements: Map<string, StatementStats> | null;
}

export interface DbDelta {
  seconds: number;
  commits: number;
  rollbacks: number;
  statements: Map<string, StatementStats> | null;
}

/** Our own monitoring statements, left out of every count. */
const OWN = '/* bench:stats */';

/**
 * Counters of one database, read over a connection of its own. pg_stat_statements counts as each statement
 * ends; pg_stat_database is flushed by each backend at most once a second, and an idle backend's last
 * counts only after 10 s (PGSTAT_IDLE_INTERVAL): a window's end is read after `settleMs`.
 */
export class DbStats {
  private constructor(
    private readonly client: Client,
    readonly database: string,
    readonly hasStatements: boolean,
    /** This connection's backend: the bench's, left out of the path's CPU. */
    readonly backendPid: number,
  ) {}

  static async open(url: string): Promise<DbStats> {
    const client = new Client({ connectionString: url, application_name: 'bench-stats' });
    await client.connect();
    const { rows } = await client.query<{ pid: number }>(`${OWN} select pg_backend_pid() as pid`);
    // The extension needs shared_preload_libraries (npm run infra:up sets it); without it, statements are n/a.
    await client.query('create extension if not exists pg_stat_statements').catch(() => undefined);
    const ok = await client
      .query(`${OWN} select 1 from pg_stat_statements limit 1`)
      .then(() => true)
      .catch(() => false);
    return new DbStats(client, new URL(url).pathname.slice(1), ok, rows[0].pid);
  }

  async snapshot(): Promise<DbSnapshot> {
    const at = performance.now();
    const { rows } = await this.client.query<{ commits: string; rollbacks: string }>(
      `${OWN} select xact_commit as commits, xact_rollback as rollbacks from pg_stat_database where datname = current_database()`,
    );
    let statements: Map<string, StatementStats> | null = null;
    if (this.hasStatements) {
      const s = await this.client.query<{ queryid: string; query: string; calls: string; total_ms: number; rows: string }>(
        `${OWN} select queryid::text, min(query) as query, sum(calls) as calls, sum(total_exec_time) as total_ms, sum(rows) as rows
         from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
           and query not like '%bench:stats%' group by queryid`,
      );
      statements = new Map(s.rows.map((r) => [r.queryid, { query: r.query, calls: Number(r.calls), totalMs: Number(r.total_ms), rows: Number(r.rows) }]));
    }
    // Our own two statements ran in two implicit transactions: not the apps' commits.
    return { at, commits: Number(rows[0].commits), rollbacks: Number(rows[0].rollbacks), statements };
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

export function dbDelta(a: DbSnapshot, b: DbSnapshot): DbDelta {
  let statements: Map<string, StatementStats> | null = null;
  if (a.statements && b.statements) {
    statements = new Map();
    for (const [id, s] of b.statements) {
      const before = a.statements.get(id);
      const calls = s.calls - (before?.calls ?? 0);
      if (calls > 0) statements.set(id, { query: s.query, calls, totalMs: s.totalMs - (before?.totalMs ?? 0), rows: s.rows - (before?.rows ?? 0) });
    }
  }
  // Between two snapshots our own connection committed the later one's two statements (in pg_stat_database once flushed).
  return { seconds: (b.at - a.at) / 1000, commits: Math.max(0, b.commits - a.commits - 2), rollbacks: b.rollbacks - a.rollbacks, statements };
}

/** The sum of two windows' deltas (the first may be missing). */
export function addDelta(a: DbDelta | undefined, b: DbDelta): DbDelta {
  if (!a) return b;
  let statements: Map<string, StatementStats> | null = null;
  if (a.statements && b.statements) {
    statements = new Map(a.statements);
    for (const [id, s] of b.statements) {
      const x = statements.get(id);
      statements.set(id, x ? { query: x.query, calls: x.calls + s.calls, totalMs: x.totalMs + s.totalMs, rows: x.rows + s.rows } : s);
    }
  }
  return { seconds: a.seconds + b.seconds, commits: a.commits + b.commits, rollbacks: a.rollbacks + b.rollbacks, statements };
}

/** What the system does with nothing to do (relay polls, reconciler, other tenants of shared servers), per second. */
export interface IdleRates {
  cpu: Record<string, number>;
  /** The shared servers: their idle rate is shown, never subtracted. */
  shared: string[];
  db: { commits: number; statements: Map<string, number> } | null;
  seconds: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Idle rates over `seconds` (the DB part only when its window could settle first). */
export async function measureIdle(groups: ProcessGroup[], db: DbStats | null, seconds: number): Promise<IdleRates> {
  const meter = new CpuMeter(groups).start();
  const a = db ? await db.snapshot() : null;
  await sleep(seconds * 1000);
  const b = db ? await db.snapshot() : null;
  const w = meter.stop();
  const d = a && b ? dbDelta(a, b) : null;
  return {
    seconds: w.seconds,
    cpu: Object.fromEntries(Object.entries(w.cpu).map(([k, v]) => [k, v / w.seconds])),
    shared: groups.filter((g) => g.shared).map((g) => g.name),
    db: d
      ? {
          commits: d.commits / d.seconds,
          statements: new Map([...(d.statements ?? new Map<string, StatementStats>())].map(([id, s]) => [id, s.calls / d.seconds])),
        }
      : null,
  };
}

// ---------------------------------------------------------------- rendering

/** One measured window of CPU: the units of work done in it (files, requests, jobs). */
export interface CpuRun {
  window: CpuWindow;
  units: number;
}

/** CPU seconds of a group in a window, less its own idle rate when it is ours alone (not a shared server's). */
export function netCpu(w: CpuWindow, name: string, idle: IdleRates | null): number {
  const rate = idle && !idle.shared.includes(name) ? (idle.cpu[name] ?? 0) : 0;
  return Math.max(0, (w.cpu[name] ?? 0) - rate * w.seconds);
}

/**
 * CPU per unit of every process group, over several runs (median and spread); one column per measured thing.
 * With idle rates, our own processes are counted net of theirs (the idle column); shared servers always gross.
 */
export function cpuTable(columns: { title: string; runs: CpuRun[]; unit: string }[], idle: IdleRates | null, cores: number): string[] {
  const names = [...new Set(columns.flatMap((c) => c.runs.flatMap((r) => Object.keys(r.window.cpu))))];
  const per = (c: { runs: CpuRun[] }, name: string): Figure => figure(c.runs.map((r) => (netCpu(r.window, name, idle) * 1000) / r.units));
  const total = (c: { runs: CpuRun[] }): Figure => figure(c.runs.map((r) => (names.reduce((sum, n) => sum + netCpu(r.window, n, idle), 0) * 1000) / r.units));
  const head = ['process', ...(idle ? [' idle ms/s'] : []), ...columns.flatMap((c) => [` ${c.title}: ms per ${c.unit}`, ' share'])];
  const rows = names.map((n) => [
    n,
    ...(idle ? [n in idle.cpu ? `${fmt(idle.cpu[n] * 1000, 1)}${idle.shared.includes(n) ? ' (kept)' : ''}` : '–'] : []),
    ...columns.flatMap((c) => {
      const f = per(c, n);
      return [c.runs.length ? fmtFigure(f, 2) : '–', c.runs.length ? pct(f.median / total(c).median) : '–'];
    }),
  ]);
  rows.push(['**total**', ...(idle ? [''] : []), ...columns.flatMap((c) => [c.runs.length ? `**${fmtFigure(total(c), 2)}**` : '–', '100%'])]);
  const caps = columns
    .filter((c) => c.runs.length)
    .map((c) => `${c.title}: ${fmt((cores * 1000) / total(c).median, 0)} ${c.unit}s/s`)
    .join('; ');
  const how = idle
    ? `Our own processes net of their idle rate (measured for ${fmt(idle.seconds, 0)} s with the apps up and no load: relay polls, the reconciler); ` +
      'the shared servers gross, their idle rate shown but kept ("(kept)": on a shared machine it holds other tenants\' work too). '
    : 'Gross (no idle rate measured for this table). ';
  return [
    ...table(head, rows),
    '',
    `CPU from /proc/<pid>/stat (user + system) over each run's window, divided by the units done in it. ${how}` +
      `At 100% of ${cores} cores this CPU alone would allow at most: ${caps}.`,
  ];
}

/** Process-group notes, once per report section. */
export function processNotes(groups: ProcessGroup[]): string[] {
  return groups.filter((g) => g.note).map((g) => `- ${g.name}: ${g.note}`);
}

const short = (q: string, n = 140) => {
  const one = q.replace(/\s+/g, ' ').trim();
  return one.length > n ? `${one.slice(0, n)}…` : one;
};
const code = (q: string) => `\`${short(q).replace(/`/g, "'").replace(/\|/g, '\\|')}\``;

/**
 * Commits and statements per unit from a DB window, net of the idle rates when known: the totals, then the
 * top statements by calls and by total time.
 */
export function dbLines(
  d: DbDelta | null,
  units: number,
  unit: string,
  idle: IdleRates | null,
  opts: { settled: boolean; top?: number; statementsOnly?: boolean },
): { lines: string[]; commitsPerUnit: number; statementsPerUnit: number } {
  if (!d) return { lines: ['Database counters: not measured.'], commitsPerUnit: NaN, statementsPerUnit: NaN };
  const idleCommits = idle?.db ? idle.db.commits * d.seconds : 0;
  const commitsPerUnit = Math.max(0, d.commits - idleCommits) / units;
  const lines: string[] = [];
  const net = (id: string, calls: number) => Math.max(0, calls - (idle?.db?.statements.get(id) ?? 0) * d.seconds);
  let statementsPerUnit = NaN;
  const top = opts.top ?? 10;
  if (d.statements) {
    const all = [...d.statements].map(([id, s]) => ({ ...s, net: net(id, s.calls) })).filter((s) => s.net > 0);
    statementsPerUnit = all.reduce((sum, s) => sum + s.net, 0) / units;
    // Statements of the idle background alone (a relay poll now and then) are left out of the tables, not of the totals.
    const shown = all.filter((s) => s.net / units >= 0.01);
    const byCalls = [...shown].sort((a, b) => b.net - a.net).slice(0, top);
    const byTime = [...shown].sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
    const commits = opts.statementsOnly
      ? ''
      : `**${fmt(commitsPerUnit, 2)} commits per ${unit}** (pg_stat_database xact_commit${opts.settled ? '' : ', read without waiting for the statistics to settle: approximate'}; rollbacks ${fmt(d.rollbacks / units, 2)}), `;
    lines.push(
      `Database, over ${fmt(d.seconds, 0)} s and ${fmt(units, 0)} ${unit}s: ${commits}` +
        `**${fmt(statementsPerUnit, 1)} statements per ${unit}** (pg_stat_statements calls, ${all.length} distinct)` +
        `${
          idle?.db
            ? `, net of the idle background (${fmt(idle.db.commits, 1)} commits/s, ${fmt(
                [...idle.db.statements.values()].reduce((a, b) => a + b, 0),
                1,
              )} statements/s)`
            : ''
        }.`,
      '',
      `Top statements by calls:`,
      '',
      ...table(
        [' calls per ' + unit, ' ms per ' + unit, ' rows per call', 'statement'],
        byCalls.map((s) => [fmt(s.net / units, 2), fmt(s.totalMs / units, 3), fmt(s.rows / Math.max(1, s.calls), 1), code(s.query)]),
      ),
      '',
      `Top statements by total execution time (server side):`,
      '',
      ...table(
        [' ms per ' + unit, ' ms per call', ' calls per ' + unit, 'statement'],
        byTime.map((s) => [fmt(s.totalMs / units, 3), fmt(s.totalMs / Math.max(1, s.calls), 3), fmt(s.net / units, 2), code(s.query)]),
      ),
    );
  } else {
    lines.push(
      `Database, over ${fmt(d.seconds, 0)} s: **${fmt(commitsPerUnit, 2)} commits per ${unit}** (pg_stat_database). Statements: n/a (pg_stat_statements is not loaded on this server; \`npm run infra:up\` enables it, see README).`,
    );
  }
  return { lines, commitsPerUnit, statementsPerUnit };
}
