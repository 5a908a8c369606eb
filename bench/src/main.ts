import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { collectStoreGarbage, emptyBucket, benchEnv, NS, PORT_BASE, provision, purgeQueues, ROOT, RUN_DIR } from './env';
import { ProfileSummary } from './profile';
import { BenchContext, pct, Section, table, Target } from './report';
import { bigFiles } from './scenarios/big-files';
import { jobs } from './scenarios/jobs';
import { scale } from './scenarios/scale';
import { sessionCreation } from './scenarios/session-creation';
import { smallFiles } from './scenarios/small-files';
import { fmt, fmtMiB, median } from './stats';

const USAGE = `npm run bench [-- --quick] [--runs=N] [--only=1,2,3,4,5] [--out=FILE] [--no-profile | --profile]
  Runs the benchmarks in namespace BENCH_NAMESPACE (default bench; database uploads_<ns>, vhost uploads-<ns>,
  bucket uploads-<ns>) on ports BENCH_PORT_BASE.. (default 4000..4004), and writes docs/benchmarks.md
  (--quick: small sizes, one run, no profile, written to .bench/<ns>/benchmarks-quick.md).
  Exits non-zero when a scenario breaks (not when a target is missed).`;

function args() {
  const a = process.argv.slice(2);
  if (a.includes('--help')) {
    console.log(USAGE);
    process.exit(0);
  }
  const value = (name: string) => a.find((x) => x.startsWith(`--${name}=`))?.split('=')[1];
  const quick = a.includes('--quick');
  return {
    quick,
    runs: Number(value('runs') ?? (quick ? 1 : 3)),
    only: value('only')?.split(',').map(Number) ?? [1, 2, 3, 4, 5],
    out: value('out') ?? (quick ? join(RUN_DIR, 'benchmarks-quick.md') : join(ROOT, 'docs/benchmarks.md')),
    profile: a.includes('--profile') || (!quick && !a.includes('--no-profile')),
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

function machine(): string[] {
  const env = benchEnv();
  const rows: [string, string][] = [
    ['CPU', `${cpus()[0]?.model ?? 'n/a'}, nproc ${sh('nproc', [])}`],
    ['memory', fmtMiB(totalmem())],
    ['kernel', sh('uname', ['-r'])],
    ['node', process.version],
    ['PostgreSQL', sh('psql', [env.DATABASE_URL, '-X', '-A', '-t', '-c', 'show server_version'])],
    ['RabbitMQ', sh('rabbitmqctl', ['version'])],
    ['Ceph RGW', sh('radosgw', ['--version']).split('\n')[0]],
    ['packages', ['@mikro-orm/core', '@nestjs/core', '@aws-sdk/client-s3', '@aws-sdk/lib-storage', '@tus/server', '@tus/s3-store', 'autocannon', 'amqplib'].map((p) => `${p} ${pkg(p)}`).join(', ')],
    ['commit', sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])],
  ];
  return table(['', ''], rows);
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function memorySection(sections: Section[]): Section | null {
  const s2 = sections.find((s) => s.id === 2)?.data as { platform: { usage: Record<string, { rssPeak: number; rssStart: number }> }[] } | undefined;
  const s3 = sections.find((s) => s.id === 3);
  if (!s2 && !s3) return null;
  const lines: string[] = [`Resident memory sampled every 100 ms from /proc/<pid>/status (VmRSS) during the runs.`, ''];
  if (s2) {
    const apps = Object.keys(s2.platform[0].usage);
    lines.push('Scenario 2 (small files):', '');
    lines.push(...table(['app', ' peak RSS', ' growth within a run'], apps.map((a) => [a, fmtMiB(Math.max(...s2.platform.map((r) => r.usage[a].rssPeak))), fmtMiB(Math.max(...s2.platform.map((r) => r.usage[a].rssPeak - r.usage[a].rssStart)))])));
    lines.push('');
  }
  if (s3) lines.push('Scenario 3 (big files): see the memory table of scenario 3 above, peak RSS and growth of every server at two file sizes.', '');
  return { id: 6, title: 'Memory', lines, targets: [], data: null };
}

function whereTheTimeGoes(sections: Section[]): string[] {
  const s2 = sections.find((s) => s.id === 2)?.data as
    | { n: number; slowest: string; slowestApp?: string; profiles: Record<string, ProfileSummary>; platform: { usage: Record<string, { cpuSeconds: number }> }[] }
    | undefined;
  if (!s2) return ['Scenario 2 did not run.'];
  const apps = Object.keys(s2.platform[0].usage);
  const cpuMsPerFile = (a: string) => (median(s2.platform.map((r) => r.usage[a].cpuSeconds)) * 1000) / s2.n;
  const total = apps.reduce((sum, a) => sum + cpuMsPerFile(a), 0);
  const lines = [
    `Slowest stage of a small file (by p50): **${s2.slowest}**, done by ${s2.slowestApp ?? 'the store and the client'}.`,
    '',
    `CPU per small file, end to end: ${apps.map((a) => `${a} ${fmt(cpuMsPerFile(a), 1)} ms`).join(', ')}; ${fmt(total, 1)} ms in all. ` +
      `On ${cpus().length} cores shared with Postgres, RabbitMQ, RGW and the client, that alone caps the platform near ${fmt((cpus().length * 1000) / total, 0)} files/s.`,
    '',
  ];
  for (const [app, p] of Object.entries(s2.profiles ?? {})) {
    if (app !== s2.slowestApp) continue;
    const busy = p.byArea.filter((a) => a.area !== 'idle');
    const busyMs = busy.reduce((sum, a) => sum + a.ms, 0);
    const orm = busy.filter((a) => /mikro-orm|knex|^pg/.test(a.area)).reduce((sum, a) => sum + a.ms, 0);
    const sdk = busy.filter((a) => /smithy|aws-sdk|aws-crypto/.test(a.area)).reduce((sum, a) => sum + a.ms, 0);
    const ours = busy.filter((a) => a.area === 'our code').reduce((sum, a) => sum + a.ms, 0);
    lines.push(
      `In ${app}'s busy time: MikroORM, knex and pg ${pct(orm / busyMs)}, the AWS SDK ${pct(sdk / busyMs)}, node internals (sockets, streams, stdout) ` +
        `${pct((busy.find((a) => a.area === 'node internals')?.ms ?? 0) / busyMs)}, our own code ${pct(ours / busyMs)}.`,
      '',
      `\`node --cpu-prof\` of ${app} over one batch of scenario 2 after a warm-up (${fmt(p.totalMs / 1000, 1)} s of samples in the batch's window):`,
      '',
    );
    lines.push(...table(['where', ' self ms', ' share'], p.byArea.slice(0, 10).map((a) => [a.area, fmt(a.ms, 0), pct(a.share)])), '');
    lines.push(...table(['function (busy time only)', 'where', ' self ms', ' share of busy'], p.top.slice(0, 10).map((f) => [`\`${f.fn}\``, `\`${f.where}\``, fmt(f.ms, 0), pct(f.share)])), '');
  }
  if (!s2.profiles || Object.keys(s2.profiles).length === 0) lines.push('(No profile in this run: --quick or --no-profile.)');
  return lines;
}

function render(opts: ReturnType<typeof args>, sections: Section[], failures: string[], facts: { started: Date; loadStart: string; loadEnd: string; seconds: number }): string {
  const all = [...sections];
  const mem = memorySection(sections);
  if (mem) all.push(mem);
  all.sort((a, b) => a.id - b.id);
  const targets: Target[] = all.flatMap((s) => s.targets);
  return [
    '# Benchmarks',
    '',
    `Written by \`npm run bench${opts.quick ? ' -- --quick' : ''}\` (bench/). Every figure is the median of ${opts.runs} run${opts.runs > 1 ? 's' : ''}` +
      `${opts.runs > 1 ? ' with the spread (min–max) in brackets' : ''}, measured in the same run as its baseline; compare ratios, not absolute figures, across machines.`,
    '',
    `Date: ${facts.started.toISOString()}; took ${fmt(facts.seconds / 60, 1)} min. Load average (1, 5, 15 min) at the start: ${facts.loadStart}; at the end: ${facts.loadEnd}.`,
    '',
    '## Machine',
    '',
    ...machine(),
    '',
    '## Targets',
    '',
    ...table(['target', 'wanted', 'measured', 'met', 'by how much, why'], targets.map((t) => [t.name, t.target, t.actual, t.met ? 'met' : '**missed**', t.note ?? ''])),
    ...(failures.length ? ['', '**Scenarios that broke:**', '', ...failures.map((f) => `- ${f}`)] : []),
    '',
    ...all.flatMap((s) => [`## ${s.id}. ${s.title}`, '', ...s.lines, '']),
    '## Where the time goes',
    '',
    ...whereTheTimeGoes(sections),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = args();
  const started = new Date();
  const loadStart = load();
  const log = (m: string) => console.log(`[bench ${((Date.now() - started.getTime()) / 1000).toFixed(0).padStart(4)} s] ${m}`);
  log(`namespace ${NS}, ports ${PORT_BASE}.., ${opts.quick ? 'quick' : 'full'} mode, ${opts.runs} run(s), load ${loadStart}`);
  await provision();
  const ctx: BenchContext = { quick: opts.quick, runs: opts.runs, log };
  const scenarios: [number, string, () => Promise<Section>][] = [
    [1, 'session creation', () => sessionCreation(ctx)],
    [2, 'small files', () => smallFiles({ ...ctx, profile: opts.profile })],
    [3, 'big files', () => bigFiles(ctx)],
    [4, 'jobs', () => jobs(ctx)],
    [5, 'scale of state', () => scale(ctx)],
  ];
  const sections: Section[] = [];
  const failures: string[] = [];
  for (const [id, name, run] of scenarios) {
    if (!opts.only.includes(id)) continue;
    log(`scenario ${id}: ${name}`);
    try {
      sections.push(await run());
    } catch (e) {
      const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
      log(`scenario ${id} BROKE: ${msg}`);
      failures.push(`${id}. ${name}: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      // Nothing of one scenario may slow the next: objects in the store (memstore holds them in RAM), queued messages.
      await emptyBucket(benchEnv().S3_BUCKET).catch(() => undefined);
      await purgeQueues().catch(() => undefined);
      collectStoreGarbage();
    }
  }
  const doc = render(opts, sections, failures, { started, loadStart, loadEnd: load(), seconds: (Date.now() - started.getTime()) / 1000 });
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, doc);
  writeFileSync(join(RUN_DIR, 'results.json'), JSON.stringify({ opts, sections, failures }, null, 1));
  log(`wrote ${opts.out}`);
  for (const t of sections.flatMap((s) => s.targets)) log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.name}: ${t.actual}`);
  if (failures.length) {
    log(`${failures.length} scenario(s) broke:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
