import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import {
  BENCH_SETTINGS,
  benchEnv,
  collectStoreGarbage,
  emptyBucket,
  emptyDatabase,
  FORCED_APP_ENV,
  NS,
  PORT_BASE,
  provision,
  purgeQueues,
  ROOT,
  RUN_DIR,
} from './env';
import { parseEnvFile } from '../../test/support/test-env';
import { BenchContext, Section, table, Target } from './report';
import { SCENARIOS } from './scenarios';
import { fmt, fmtMiB } from './stats';

const USAGE = `npm run bench [-- --quick] [--runs=N] [--only=1,small,…] [--out=FILE] [--no-profile | --profile] [--app-env=KEY=VALUE …]
  Runs the benchmarks in namespace BENCH_NAMESPACE (default bench; database uploads_<ns>, vhost uploads-<ns>,
  bucket uploads-<ns>) on ports BENCH_PORT_BASE.. (default 4000..4004), and writes docs/benchmarks.md
  (--quick: small sizes, one run, no profile, written to .bench/<ns>/benchmarks-quick.md).
  Scenarios: ${SCENARIOS.map((s) => `${s.id}|${s.key} (${s.title})`).join(', ')}.
  --app-env forces a setting into every app (it wins over the bench's own, e.g. --app-env=RATE_LIMIT_WRITES=20).
  Exits non-zero when a scenario breaks (an unexpected status, a timeout, an app that dies), not when a target is missed.`;

function args() {
  const a = process.argv.slice(2);
  if (a.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const value = (name: string) => a.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
  const quick = a.includes('--quick');
  const only = value('only')?.split(',');
  const selected = only ? SCENARIOS.filter((s) => only.includes(String(s.id)) || only.includes(s.key)) : SCENARIOS;
  if (only && selected.length !== only.length)
    throw new Error(`--only: unknown scenario in ${only.join(',')} (known: ${SCENARIOS.map((s) => `${s.id}|${s.key}`).join(', ')})`);
  const appEnv: Record<string, string> = {};
  for (const x of a.filter((y) => y.startsWith('--app-env='))) {
    const m = /^--app-env=([A-Z0-9_]+)=(.*)$/.exec(x);
    if (!m) throw new Error(`--app-env wants KEY=VALUE: ${x}`);
    appEnv[m[1]] = m[2];
  }
  return {
    quick,
    runs: Number(value('runs') ?? (quick ? 1 : 5)),
    scenarios: selected,
    out: value('out') ?? (quick ? join(RUN_DIR, 'benchmarks-quick.md') : join(ROOT, 'docs/benchmarks.md')),
    profile: a.includes('--profile') || (!quick && !a.includes('--no-profile')),
    appEnv,
  };
}

function sh(cmd: string, argv: string[]): string {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'n/a';
  }
}

function pkg(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'n/a';
  }
}

/** The commit measured, and whether the working tree differed from it. */
function commit(): string {
  const head = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return dirty && dirty !== 'n/a' ? `${head} (with uncommitted changes)` : head;
}

function machine(): string[] {
  const env = benchEnv();
  const rows: [string, string][] = [
    ['CPU', `${cpus()[0]?.model ?? 'n/a'}, nproc ${sh('nproc', [])}`],
    ['memory', fmtMiB(totalmem())],
    ['kernel', sh('uname', ['-r'])],
    ['node', process.version],
    [
      'PostgreSQL',
      `${sh('psql', [env.DATABASE_URL, '-X', '-A', '-t', '-c', 'show server_version'])}; shared_preload_libraries = ${sh('psql', [env.DATABASE_URL, '-X', '-A', '-t', '-c', 'show shared_preload_libraries']) || '(none)'}`,
    ],
    ['RabbitMQ', sh('rabbitmqctl', ['version'])],
    ['Ceph RGW', sh('radosgw', ['--version']).split('\n')[0]],
    [
      'packages',
      ['@mikro-orm/core', '@nestjs/core', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@tus/server', '@tus/s3-store', 'autocannon', 'amqplib', 'pg']
        .map((p) => `${p} ${pkg(p)}`)
        .join(', '),
    ],
  ];
  return table(['', ''], rows);
}

/** What the apps ran with, where it differs from .env.example (per-scenario settings are in their sections). */
function settings(appEnv: Record<string, string>): string[] {
  const example = parseEnvFile(join(ROOT, '.env.example'));
  const why: Record<string, string> = {
    NODE_ENV: 'as deployed',
    RATE_LIMIT_WRITES: 'rate limits off: the bench is one caller making thousands of requests a minute',
    RATE_LIMIT_REQUESTS: 'rate limits off (as above)',
    ANONYMOUS_UPLOADS: 'as .env.example',
    PRODUCTION_ALLOWED_DEV_DEFAULTS: ".env.example's development defaults confirmed for production (one machine, the local broker and store)",
    SHUTDOWN_TIMEOUT_SECONDS: 'apps stop faster between scenarios',
  };
  const rows = Object.entries(BENCH_SETTINGS).map(([k, v]) => [
    `\`${k}\``,
    `\`${example[k] ?? ''}\``,
    `\`${appEnv[k] ?? v}\``,
    appEnv[k] !== undefined ? '**forced with --app-env**' : (why[k] ?? ''),
  ]);
  for (const [k, v] of Object.entries(appEnv))
    if (!(k in BENCH_SETTINGS)) rows.push([`\`${k}\``, `\`${example[k] ?? ''}\``, `\`${v}\``, '**forced with --app-env**']);
  const kept = ['LOG_LEVEL', 'DEFAULT_JOBS', 'JOB_CONCURRENCY', 'JOB_NICE', 'USER_QUOTA_BYTES'].map((k) => `\`${k}=${benchEnv()[k]}\``).join(', ');
  return [
    ...table(['setting', '.env.example', 'bench', 'why'], rows),
    '',
    `Everything else as .env.example (among it ${kept}), in the bench's namespace (\`${NS}\`: database, vhost, bucket, ports ${PORT_BASE}..). ` +
      'Scenario 1 turns the quota on (its section says how).',
  ];
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function memorySection(sections: Section[]): Section | null {
  const s2 = sections.find((s) => s.id === 2)?.data as { rss: Record<string, { peak: number; growth: number }> } | undefined;
  const s3 = sections.find((s) => s.id === 3);
  if (!s2 && !s3) return null;
  const lines: string[] = ['Resident memory sampled from /proc/<pid>/status (VmRSS) during the runs.', ''];
  if (s2) {
    lines.push('Scenario 2 (small files, closed loop):', '');
    lines.push(
      ...table(
        ['app', ' peak RSS', ' growth within a run'],
        Object.entries(s2.rss).map(([a, r]) => [a, fmtMiB(r.peak), fmtMiB(r.growth)]),
      ),
      '',
    );
  }
  if (s3) lines.push('Scenario 3 (big files): see its memory table above, peak RSS and growth of every server at two file sizes.', '');
  return { id: 6, title: 'Memory', lines, targets: [], data: null };
}

interface Facts {
  started: Date;
  loadStart: string;
  loadEnd: string;
  seconds: number;
  commit: string;
  scenarioFacts: Record<number, { loadStart: string; loadEnd: string; seconds: number }>;
}

function render(opts: ReturnType<typeof args>, sections: Section[], failures: { id: number; name: string; message: string }[], facts: Facts): string {
  const all = [...sections];
  const mem = memorySection(sections);
  if (mem) all.push(mem);
  all.sort((a, b) => a.id - b.id);
  const targets: Target[] = all.flatMap((s) => s.targets);
  const met = (t: Target) => (t.met === null ? 'not measured' : t.met ? 'met' : '**missed**');
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` (bench/, see bench/README.md). Each short figure is the median of ${opts.runs} run${opts.runs > 1 ? 's' : ''}` +
      `${opts.runs > 1 ? ' with its spread (min–max) in brackets' : ''}, measured in the same run as its baseline and interleaved with it; ` +
      'compare ratios and CPU per unit of work, not absolute rates, across machines.',
    '',
    `Commit measured: **${facts.commit}**. Date: ${facts.started.toISOString()}; took ${fmt(facts.seconds / 60, 1)} min. ` +
      `Load average (1, 5, 15 min) at the start: ${facts.loadStart}; at the end: ${facts.loadEnd} (on ${cpus().length} cores).`,
    '',
    '## Machine',
    '',
    ...machine(),
    '',
    '## Settings',
    '',
    ...settings(opts.appEnv),
    '',
    '## Targets',
    '',
    ...table(
      ['target', 'from', 'wanted', 'measured', 'met', 'by how much, why'],
      targets.map((t) => [t.name, t.source ?? '', t.wanted, t.measured, met(t), t.note ?? '']),
    ),
    ...(failures.length ? ['', '**Scenarios that broke** (the bench exits non-zero):', '', ...failures.map((f) => `- ${f.id}. ${f.name}: ${f.message}`)] : []),
    '',
    ...all.flatMap((s) => {
      const f = facts.scenarioFacts[s.id];
      return [
        `## ${s.id}. ${s.title}`,
        '',
        ...(f ? [`_${fmt(f.seconds, 0)} s; load average before ${f.loadStart}, after ${f.loadEnd}._`, ''] : []),
        ...s.lines,
        '',
      ];
    }),
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = args();
  Object.assign(FORCED_APP_ENV, opts.appEnv);
  const started = new Date();
  const loadStart = load();
  const log = (m: string) => console.log(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  log(`namespace ${NS}, ports ${PORT_BASE}.., ${opts.quick ? 'quick' : 'full'} mode, ${opts.runs} run(s), load ${loadStart}, commit ${commit()}`);
  if (Object.keys(opts.appEnv).length)
    log(
      `forced into every app: ${Object.entries(opts.appEnv)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  await provision();
  const ctx: BenchContext = { quick: opts.quick, runs: opts.runs, profile: opts.profile, appEnv: opts.appEnv, log };
  const sections: Section[] = [];
  const failures: { id: number; name: string; message: string }[] = [];
  const scenarioFacts: Facts['scenarioFacts'] = {};
  for (const s of opts.scenarios) {
    const t0 = Date.now();
    const before = load();
    log(`scenario ${s.id}: ${s.title} (load ${before})`);
    try {
      const section = await s.run(ctx);
      sections.push(section);
      for (const f of section.failures ?? []) {
        log(`scenario ${s.id} partly BROKE: ${f}`);
        failures.push({ id: s.id, name: s.title, message: f });
      }
    } catch (e) {
      log(`scenario ${s.id} BROKE: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      failures.push({ id: s.id, name: s.title, message: e instanceof Error ? e.message : String(e) });
    } finally {
      // Nothing of one scenario may slow the next: objects in the store (memstore holds them in RAM), queued
      // messages, rows (an open loop may leave a backlog in the outbox).
      await emptyBucket(benchEnv().S3_BUCKET).catch(() => undefined);
      await purgeQueues().catch(() => undefined);
      try {
        emptyDatabase(benchEnv().DATABASE_URL);
      } catch {
        // the next scenario finds out
      }
      collectStoreGarbage();
      scenarioFacts[s.id] = { loadStart: before, loadEnd: load(), seconds: (Date.now() - t0) / 1000 };
    }
  }
  const facts: Facts = { started, loadStart, loadEnd: load(), seconds: (Date.now() - started.getTime()) / 1000, commit: commit(), scenarioFacts };
  const doc = render(opts, sections, failures, facts);
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, doc);
  writeFileSync(
    join(RUN_DIR, 'results.json'),
    JSON.stringify({ opts, facts, sections: sections.map((s) => ({ ...s, lines: undefined })), failures }, replacer, 1),
  );
  log(`wrote ${opts.out}`);
  for (const t of sections.flatMap((s) => s.targets)) log(`  ${t.met === null ? 'n/a   ' : t.met ? 'met   ' : 'MISSED'} ${t.name}: ${t.measured}`);
  if (failures.length) {
    log(`${failures.length} scenario(s) broke:\n  ${failures.map((f) => `${f.id}. ${f.name}: ${f.message}`).join('\n  ')}`);
    process.exitCode = 1;
  }
}

/** Maps and Infinity survive in results.json. */
function replacer(_: string, v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries(v);
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
}

main().then(
  // Every client and child is closed by now; exit even if a library keeps a timer.
  () => process.exit(process.exitCode ?? 0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
