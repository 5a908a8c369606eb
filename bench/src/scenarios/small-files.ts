import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { AppName, System } from '../apps';
import { call, inParallel, tokenFor } from '../client';
import { emptyBucket, RAW_BUCKET, RUN_DIR, storageFor } from '../env';
import { SessionWatch } from '../events';
import { ProcessUsage, UsageMeter } from '../proc';
import { monotonicMicros, profilesIn, ProfileSummary, summarizeProfile } from '../profile';
import { BenchContext, pct, Section, table } from '../report';
import { Figure, figure, fmt, fmtFigure, fmtMiB, percentile } from '../stats';

const SIZE = 4096;
const CONCURRENCY = 16;

interface PlatformRun {
  filesPerSecond: number;
  stages: Record<Stage, { p50: number; p99: number }>;
  usage: Record<string, ProcessUsage>;
}
type Stage = 'create' | 'put' | 'putToUploaded' | 'uploadedToCompleted' | 'total';
const STAGES: Stage[] = ['create', 'put', 'putToUploaded', 'uploadedToCompleted', 'total'];
const STAGE_NAMES: Record<Stage, string> = {
  create: 'create (POST /v1/uploads)',
  put: 'upload (pre-signed PUT)',
  putToUploaded: 'notification → UPLOADED',
  uploadedToCompleted: 'UPLOADED → COMPLETED (jobs)',
  total: 'create → COMPLETED',
};
/** Which app does the work of a stage (the one to profile). */
const STAGE_APP: Partial<Record<Stage, AppName>> = { create: 'upload-gateway', putToUploaded: 'storage-events', uploadedToCompleted: 'job-processor' };

async function platformRun(sys: System, watch: SessionWatch, n: number, token: string): Promise<PlatformRun> {
  const body = randomBytes(SIZE);
  const marks: { id: string; t0: number; t1: number; t2: number }[] = [];
  const meter = new UsageMeter(sys.pids).start();
  const start = Date.now();
  await inParallel(Array.from({ length: n }), CONCURRENCY, async () => {
    const t0 = Date.now();
    const created = await call('POST', '/v1/uploads', { token, body: { filename: 'small.bin', contentType: 'application/octet-stream', size: SIZE } });
    const t1 = Date.now();
    const res = await fetch(created.upload.url, { method: 'PUT', body, headers: created.upload.headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`PUT to the store: ${res.status}`);
    marks.push({ id: created.id, t0, t1, t2: Date.now() });
  });
  await watch.settled(
    marks.map((m) => m.id),
    60_000 + n * 200,
  );
  const usage = meter.stop();
  sys.assertAlive();
  const failed = marks.filter((m) => watch.times.get(m.id)?.failed);
  if (failed.length > 0) throw new Error(`${failed.length} of ${n} small files FAILED (first: ${watch.times.get(failed[0].id)!.failed})`);
  const per: Record<Stage, number[]> = { create: [], put: [], putToUploaded: [], uploadedToCompleted: [], total: [] };
  let last = 0;
  for (const m of marks) {
    const t = watch.times.get(m.id)!;
    per.create.push(m.t1 - m.t0);
    per.put.push(m.t2 - m.t1);
    per.putToUploaded.push(t.uploadedAt! - m.t2);
    per.uploadedToCompleted.push(t.completedAt! - t.uploadedAt!);
    per.total.push(t.completedAt! - m.t0);
    last = Math.max(last, t.completedAt!);
  }
  const stages = Object.fromEntries(STAGES.map((s) => [s, { p50: percentile(per[s], 50), p99: percentile(per[s], 99) }])) as PlatformRun['stages'];
  return { filesPerSecond: (n * 1000) / (last - start), stages, usage };
}

/** The store's own limit: the same PUTs, pre-signed beforehand, to a bucket nobody listens to. */
async function storeRun(n: number): Promise<{ filesPerSecond: number; p50: number; p99: number }> {
  const storage = storageFor(RAW_BUCKET);
  const body = randomBytes(SIZE);
  const urls = await Promise.all(
    Array.from({ length: n }, (_, i) => storage.presignPut(`small/${Date.now()}-${i}.bin`, { contentType: 'application/octet-stream', contentLength: SIZE, expiresInSeconds: 900 })),
  );
  const latencies: number[] = [];
  const start = performance.now();
  await inParallel(urls, CONCURRENCY, async (u) => {
    const t0 = performance.now();
    const res = await fetch(u.url, { method: 'PUT', body, headers: u.headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`PUT to the store: ${res.status}`);
    latencies.push(performance.now() - t0);
  });
  const elapsed = performance.now() - start;
  await emptyBucket(RAW_BUCKET, 'small/');
  return { filesPerSecond: (n * 1000) / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** One more batch with every app under `node --cpu-prof`; summarizes the app doing the slowest stage. */
async function profiledRun(n: number, token: string): Promise<Record<string, ProfileSummary>> {
  const dir = join(RUN_DIR, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  const apps: AppName[] = ['upload-gateway', 'storage-events', 'job-processor'];
  for (const a of apps) mkdirSync(join(dir, a), { recursive: true });
  const sys = await System.start({ nodeArgs: Object.fromEntries(apps.map((a) => [a, ['--cpu-prof', `--cpu-prof-dir=${join(dir, a)}`]])) });
  const watch = await SessionWatch.start();
  let window = { from: 0, to: 0 };
  try {
    await platformRun(sys, watch, Math.min(50, n), token); // warm-up, outside the window
    const from = monotonicMicros();
    await platformRun(sys, watch, n, token);
    window = { from, to: monotonicMicros() };
  } finally {
    await watch.close();
    await sys.stop();
  }
  const out: Record<string, ProfileSummary> = {};
  for (const a of apps) {
    const [file] = profilesIn(join(dir, a));
    if (file) out[a] = summarizeProfile(file, window);
  }
  return out;
}

export async function smallFiles(ctx: BenchContext & { profile: boolean }): Promise<Section> {
  const n = ctx.quick ? 40 : 300;
  const token = tokenFor('bench-user-2');
  const platform: PlatformRun[] = [];
  const store: { filesPerSecond: number; p50: number; p99: number }[] = [];

  const sys = await System.start();
  const watch = await SessionWatch.start();
  try {
    await platformRun(sys, watch, ctx.quick ? 8 : 50, token); // warm-up
    await storeRun(ctx.quick ? 8 : 50);
    for (let i = 0; i < ctx.runs; i++) {
      // Interleaved, so a noisy moment hits both sides.
      platform.push(await platformRun(sys, watch, n, token));
      store.push(await storeRun(n));
      ctx.log(`  run ${i + 1}: platform ${fmt(platform.at(-1)!.filesPerSecond)} files/s, store ${fmt(store.at(-1)!.filesPerSecond)} PUTs/s`);
    }
  } finally {
    await watch.close();
    await sys.stop();
  }

  const fps = figure(platform.map((r) => r.filesPerSecond));
  const storeFps = figure(store.map((r) => r.filesPerSecond));
  const stage = (s: Stage, q: 'p50' | 'p99'): Figure => figure(platform.map((r) => r.stages[s][q]));
  const ratio = fps.median / storeFps.median;
  const slowest = (['create', 'put', 'putToUploaded', 'uploadedToCompleted'] as Stage[]).sort((a, b) => stage(b, 'p50').median - stage(a, 'p50').median)[0];
  const apps = Object.keys(platform[0].usage);
  const cpu = (a: string) => figure(platform.map((r) => r.usage[a].cpuSeconds));
  const rssPeak = (a: string) => figure(platform.map((r) => r.usage[a].rssPeak));
  const rssGrowth = (a: string) => figure(platform.map((r) => r.usage[a].rssPeak - r.usage[a].rssStart));

  const profiles = ctx.profile ? await profiledRun(n, token) : {};
  const lines = [
    `${n} files of 4 KiB per run, ${CONCURRENCY} clients at a time, each: POST /v1/uploads → pre-signed PUT → wait for \`session.completed\` ` +
      `(default jobs of .env.example: VALIDATION + CHECKSUM). Stage times from the client's clock and the domain events' \`occurredAt\` ` +
      `(written in the transaction that made the change). Limit: the same number of pre-signed PUTs of 4 KiB straight to the store, same concurrency, ` +
      `to a bucket without notifications. Runs interleaved.`,
    '',
    ...table(['', ' files/s', ' ratio to the store'], [
      ['platform, create → COMPLETED', fmtFigure(fps), pct(ratio)],
      ['store, pre-signed PUT only', fmtFigure(storeFps), '100%'],
    ]),
    '',
    ...table(['stage (platform)', ' p50 ms', ' p99 ms'], STAGES.map((s) => [STAGE_NAMES[s], fmtFigure(stage(s, 'p50'), 0), fmtFigure(stage(s, 'p99'), 0)])),
    '',
    `Store PUT latency: p50 ${fmtFigure(figure(store.map((r) => r.p50)), 1)} ms, p99 ${fmtFigure(figure(store.map((r) => r.p99)), 1)} ms.`,
    '',
    'CPU and memory of the apps during a run (scenario 6 uses the RSS):',
    '',
    ...table(['app', ' CPU s per run', ' CPU ms per file', ' peak RSS', ' RSS growth in the run'], apps.map((a) => [a, fmtFigure(cpu(a), 2), fmt((cpu(a).median * 1000) / n, 2), fmtMiB(rssPeak(a).median), fmtMiB(rssGrowth(a).median)])),
  ];
  const targets = [
    {
      name: 'Small files: platform rate vs store PUT rate',
      target: '≥ 50%',
      actual: `${pct(ratio)} (${fmt(fps.median)} vs ${fmt(storeFps.median)} /s)`,
      met: ratio >= 0.5,
      note: ratio >= 0.5 ? undefined : `missed by ${fmt((0.5 - ratio) * 100, 0)} points; slowest stage: ${STAGE_NAMES[slowest]}`,
    },
  ];
  return {
    id: 2,
    title: 'Small files end to end',
    lines,
    targets,
    data: { n, concurrency: CONCURRENCY, platform, store, slowest: STAGE_NAMES[slowest], slowestApp: STAGE_APP[slowest], profiles },
  };
}
