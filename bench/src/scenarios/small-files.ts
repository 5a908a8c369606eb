import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  cpuTable,
  CpuMeter,
  netCpu,
  CpuRun,
  CpuWindow,
  DbStats,
  dbDelta,
  dbLines,
  IdleRates,
  measureIdle,
  pathProcesses,
  ProcessGroup,
  processNotes,
  sleep,
} from '../accounting';
import { AppName, System } from '../apps';
import { call, inParallel, putObject, tokenFor } from '../client';
import { benchEnv, emptyBucket, RAW_BUCKET, RUN_DIR, storageFor } from '../env';
import { SessionWatch, SessionTimes } from '../events';
import { monotonicMicros, profilesIn, ProfileSummary, summarizeProfile } from '../profile';
import { BenchContext, BenchFailure, pct, Scenario, Section, table, Target, thresholdTarget } from '../report';
import { Figure, figure, fmt, fmtFigure, fmtMiB, percentile } from '../stats';
import { openLoop, OpenLoopResult, openLoopLines, openLoopTargets } from './small-files-open-loop';
import { SIZE, smallFileBody } from './small-file';

/** Clients of the closed loop (and of both baselines): each waits for its file's session.completed before the next. */
const CLIENTS = 16;
/** pg_stat_database counts of an idle backend reach the view 10 s late (PGSTAT_IDLE_INTERVAL). */
const STATS_SETTLE_MS = 11_000;

type Stage = 'create' | 'put' | 'putToUploaded' | 'uploadedToCompleted' | 'completedToHeard' | 'total';
const STAGES: Stage[] = ['create', 'put', 'putToUploaded', 'uploadedToCompleted', 'completedToHeard', 'total'];
const STAGE_NAMES: Record<Stage, string> = {
  create: 'create (POST /v1/uploads)',
  put: 'upload (pre-signed PUT)',
  putToUploaded: 'PUT answered → UPLOADED (with the store’s 0–100 ms notification sending)',
  uploadedToCompleted: 'UPLOADED → COMPLETED (jobs)',
  completedToHeard: 'COMPLETED → event heard (relay, broker)',
  total: 'create → COMPLETED',
};
/** Which app does the work of a stage (the one to profile). */
const STAGE_APP: Partial<Record<Stage, AppName>> = { create: 'upload-gateway', putToUploaded: 'storage-events', uploadedToCompleted: 'job-processor' };

interface PlatformRun {
  files: number;
  filesPerSecond: number;
  stages: Record<Stage, { p50: number; p99: number }>;
  cpu: CpuWindow;
}

interface BaselineRun {
  files: number;
  filesPerSecond: number;
  p50: number;
  p99: number;
  cpu: CpuWindow;
}

/** One file's whole way: create, PUT, then the client waits for its session.completed. */
export async function uploadSmallFile(
  watch: SessionWatch,
  token: string,
  body: Buffer,
  timeoutMs: number,
): Promise<{ id: string; t0: number; t1: number; t2: number; t: SessionTimes }> {
  const t0 = Date.now();
  const created = await call('POST', '/v1/uploads', { token, body: smallFileBody() });
  const t1 = Date.now();
  await putObject(created.upload.url, body, created.upload.headers);
  const t2 = Date.now();
  const t = await watch.completion(created.id, timeoutMs);
  return { id: created.id, t0, t1, t2, t };
}

/** The closed loop: CLIENTS clients, each create → PUT → wait for its own session.completed, n files in all. */
async function platformRun(sys: System, watch: SessionWatch, n: number, token: string, groups: ProcessGroup[]): Promise<PlatformRun> {
  const body = randomBytes(SIZE);
  const marks: Awaited<ReturnType<typeof uploadSmallFile>>[] = [];
  const meter = new CpuMeter(groups).start();
  const start = Date.now();
  await inParallel(Array.from({ length: n }), CLIENTS, async () => {
    marks.push(await uploadSmallFile(watch, token, body, 60_000));
  });
  const elapsed = Date.now() - start;
  const cpu = meter.stop();
  sys.assertAlive();
  const per: Record<Stage, number[]> = { create: [], put: [], putToUploaded: [], uploadedToCompleted: [], completedToHeard: [], total: [] };
  for (const { t0, t1, t2, t } of marks) {
    per.create.push(t1 - t0);
    per.put.push(t2 - t1);
    if (t.uploadedAt !== undefined) {
      per.putToUploaded.push(t.uploadedAt - t2);
      per.uploadedToCompleted.push(t.completedAt! - t.uploadedAt);
    }
    per.completedToHeard.push(t.heardAt! - t.completedAt!);
    per.total.push(t.completedAt! - t0);
  }
  const stages = Object.fromEntries(STAGES.map((s) => [s, { p50: percentile(per[s], 50), p99: percentile(per[s], 99) }])) as PlatformRun['stages'];
  return { files: n, filesPerSecond: (n * 1000) / elapsed, stages, cpu };
}

/**
 * A baseline on the store alone, same clients, to a bucket nobody listens to: each file one pre-signed PUT
 * of 4 KiB (signed beforehand, outside the window), and with `get`, then one GET of the object through the
 * apps' storage adapter (what a job handler does at the least).
 */
async function storeRun(n: number, get: boolean, groups: ProcessGroup[]): Promise<BaselineRun> {
  const storage = storageFor(RAW_BUCKET);
  const body = randomBytes(SIZE);
  const prefix = `small-${get ? 'floor' : 'put'}/${Date.now()}`;
  const keys = Array.from({ length: n }, (_, i) => `${prefix}/${i}.bin`);
  const urls = await Promise.all(
    keys.map((k) => storage.presignPut(k, { contentType: 'application/octet-stream', contentLength: SIZE, expiresInSeconds: 900 })),
  );
  const latencies: number[] = [];
  const meter = new CpuMeter(groups).start();
  const start = performance.now();
  await inParallel(urls, CLIENTS, async (u, i) => {
    const t0 = performance.now();
    await putObject(u.url, body, u.headers);
    if (get) {
      const stream = await storage.stream(keys[i]);
      let bytes = 0;
      for await (const chunk of stream) bytes += (chunk as Buffer).length;
      if (bytes !== SIZE) throw new BenchFailure(`GET ${keys[i]} from the store: ${bytes} bytes, expected ${SIZE}`);
    }
    latencies.push(performance.now() - t0);
  });
  const elapsed = performance.now() - start;
  const cpu = meter.stop();
  await emptyBucket(RAW_BUCKET, `${prefix}/`);
  return { files: n, filesPerSecond: (n * 1000) / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpu };
}

/** One more closed-loop batch with every app under `node --cpu-prof`; summarizes each app's samples in the batch's window. */
async function profiledRun(n: number, token: string): Promise<Record<string, ProfileSummary>> {
  const dir = join(RUN_DIR, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  const apps: AppName[] = ['upload-gateway', 'storage-events', 'job-processor'];
  for (const a of apps) mkdirSync(join(dir, a), { recursive: true });
  const sys = await System.start({ nodeArgs: Object.fromEntries(apps.map((a) => [a, ['--cpu-prof', `--cpu-prof-dir=${join(dir, a)}`]])) });
  const watch = await SessionWatch.start();
  let window = { from: 0, to: 0 };
  try {
    await platformRun(sys, watch, Math.min(50, n), token, []); // warm-up, outside the window
    const from = monotonicMicros();
    await platformRun(sys, watch, n, token, []);
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

function profileLines(app: string, p: ProfileSummary): string[] {
  const busy = p.byArea.filter((a) => a.area !== 'idle');
  const busyMs = busy.reduce((sum, a) => sum + a.ms, 0);
  const sum = (re: RegExp) => busy.filter((a) => re.test(a.area)).reduce((s, a) => s + a.ms, 0);
  return [
    `In ${app}'s busy time: MikroORM, knex and pg ${pct(sum(/mikro-orm|knex|^pg/) / busyMs)}, the AWS SDK ${pct(sum(/smithy|aws-sdk|aws-crypto/) / busyMs)}, ` +
      `node internals (sockets, streams, stdout) ${pct(sum(/^node internals$/) / busyMs)}, our own code ${pct(sum(/^our code$/) / busyMs)}.`,
    '',
    `\`node --cpu-prof\` of ${app} over one closed-loop batch after a warm-up (${fmt(p.totalMs / 1000, 1)} s of samples in the batch's window):`,
    '',
    ...table(
      ['where', ' self ms', ' share'],
      p.byArea.slice(0, 10).map((a) => [a.area, fmt(a.ms, 0), pct(a.share)]),
    ),
    '',
    ...table(
      ['function (busy time only)', 'where', ' self ms', ' share of busy'],
      p.top.slice(0, 10).map((f) => [`\`${f.fn}\``, `\`${f.where}\``, fmt(f.ms, 0), pct(f.share)]),
    ),
    '',
  ];
}

async function run(ctx: BenchContext): Promise<Section> {
  const n = ctx.quick ? 40 : 300;
  const token = tokenFor('bench-user-2');
  const platform: PlatformRun[] = [];
  const store: BaselineRun[] = [];
  const floor: BaselineRun[] = [];
  let idle: IdleRates | null = null;
  let db: ReturnType<typeof dbLines> = { lines: [], commitsPerUnit: NaN, statementsPerUnit: NaN };
  let open: OpenLoopResult | null = null;
  let openFailure: string | null = null;
  let groups: ProcessGroup[] = [];

  const sys = await System.start();
  const watch = await SessionWatch.start();
  const stats = await DbStats.open(benchEnv().DATABASE_URL);
  try {
    groups = pathProcesses({ apps: sys.pids, databases: [stats.database], excludeBackends: [stats.backendPid] });
    const warm = ctx.quick ? 8 : 50;
    await platformRun(sys, watch, warm, token, groups);
    await storeRun(warm, false, groups);
    await storeRun(warm, true, groups);
    if (!ctx.quick) {
      await sleep(STATS_SETTLE_MS);
      idle = await measureIdle(groups, stats, 5);
      ctx.log(
        `  idle: ${fmt(idle.db?.commits ?? 0, 1)} commits/s; apps ${Object.entries(idle.cpu)
          .filter(([k]) => k in sys.pids)
          .map(([k, v]) => `${k} ${fmt(v * 1000, 1)} ms/s`)
          .join(', ')}`,
      );
    }
    const before = await stats.snapshot();
    let lastPlatformEnd = 0;
    for (let i = 0; i < ctx.runs; i++) {
      // Interleaved, so a noisy moment hits all three.
      platform.push(await platformRun(sys, watch, n, token, groups));
      lastPlatformEnd = performance.now();
      store.push(await storeRun(n, false, groups));
      floor.push(await storeRun(n, true, groups));
      ctx.log(
        `  run ${i + 1}: platform ${fmt(platform.at(-1)!.filesPerSecond)} files/s, store PUT ${fmt(store.at(-1)!.filesPerSecond)} /s, floor (PUT + GET) ${fmt(floor.at(-1)!.filesPerSecond)} /s`,
      );
    }
    if (!ctx.quick) await sleep(Math.max(0, lastPlatformEnd + STATS_SETTLE_MS - performance.now()));
    const after = await stats.snapshot();
    db = dbLines(dbDelta(before, after), n * ctx.runs, 'file', idle, { settled: !ctx.quick });

    // The closed loop's figures stand even if the open loop breaks: its failure is reported beside them.
    try {
      open = await openLoop({ sys, watch, token, groups, quick: ctx.quick, log: ctx.log });
    } catch (e) {
      openFailure = e instanceof Error ? e.message : String(e);
      ctx.log(`  open loop BROKE: ${openFailure}`);
    }
  } finally {
    await stats.close();
    await watch.close();
    await sys.stop();
  }

  const fps = figure(platform.map((r) => r.filesPerSecond));
  const storeFps = figure(store.map((r) => r.filesPerSecond));
  const floorFps = figure(floor.map((r) => r.filesPerSecond));
  const stage = (s: Stage, q: 'p50' | 'p99'): Figure => figure(platform.map((r) => r.stages[s][q]));
  const vsStore = fps.median / storeFps.median;
  const vsFloor = fps.median / floorFps.median;
  const slowest = (['create', 'put', 'putToUploaded', 'uploadedToCompleted', 'completedToHeard'] as Stage[]).sort(
    (a, b) => stage(b, 'p50').median - stage(a, 'p50').median,
  )[0];
  const apps = Object.keys(sys.pids);
  const runsOf = (list: { files: number; cpu: CpuWindow }[]): CpuRun[] => list.map((r) => ({ window: r.cpu, units: r.files }));
  const appsCpu = figure(platform.map((r) => (apps.reduce((s, a) => s + netCpu(r.cpu, a, idle), 0) * 1000) / r.files));
  const rss = Object.fromEntries(
    apps.map((a) => [
      a,
      { peak: Math.max(...platform.map((r) => r.cpu.rssPeak[a])), growth: Math.max(...platform.map((r) => r.cpu.rssPeak[a] - r.cpu.rssStart[a])) },
    ]),
  );

  const profiles = ctx.profile ? await profiledRun(n, token) : {};
  const slowApp = STAGE_APP[slowest];
  const lines = [
    `Closed loop: ${CLIENTS} clients, each POST /v1/uploads → pre-signed PUT of 4 KiB → waits for its own \`session.completed\` event before its next file; ` +
      `${n} files per run, ${ctx.runs} run${ctx.runs > 1 ? 's' : ''} (default jobs of .env.example: VALIDATION + CHECKSUM). files/s = files / (first create → last event heard). ` +
      `Stage times from the client's clock and the domain events' \`occurredAt\` (written in the transaction that made the change). ` +
      `Baselines, interleaved with the platform's runs, same ${CLIENTS} clients, to a bucket without notifications: the store's own pre-signed 4 KiB PUT, ` +
      `and the data-plane floor (per file the PUT and one GET of the object, the least the pipeline must ask of the store). See bench/README.md.`,
    '',
    ...table(
      ['', ' files/s', ' platform as a share of it'],
      [
        ['platform, closed loop (create → COMPLETED heard)', fmtFigure(fps), '100%'],
        ['store alone: pre-signed PUT', fmtFigure(storeFps), pct(vsStore)],
        ['data-plane floor: PUT + one GET', fmtFigure(floorFps), pct(vsFloor)],
      ],
    ),
    '',
    ...table(
      ['stage (platform)', ' p50 ms', ' p99 ms'],
      STAGES.map((s) => [STAGE_NAMES[s], fmtFigure(stage(s, 'p50'), 0), fmtFigure(stage(s, 'p99'), 0)]),
    ),
    '',
    `Baseline latency per file: store PUT p50 ${fmtFigure(figure(store.map((r) => r.p50)), 1)} ms, p99 ${fmtFigure(figure(store.map((r) => r.p99)), 1)} ms; ` +
      `floor (PUT + GET) p50 ${fmtFigure(figure(floor.map((r) => r.p50)), 1)} ms, p99 ${fmtFigure(figure(floor.map((r) => r.p99)), 1)} ms.`,
    '',
    '### Where every millisecond of a small file goes',
    '',
    ...cpuTable(
      [
        { title: 'platform', runs: runsOf(platform), unit: 'file' },
        { title: 'store PUT', runs: runsOf(store), unit: 'file' },
        { title: 'floor', runs: runsOf(floor), unit: 'file' },
      ],
      idle,
      cpus().length,
    ),
    '',
    ...processNotes(groups),
    '',
    ...db.lines,
    '',
    ...table(
      ['app', ' peak RSS', ' RSS growth within a run'],
      apps.map((a) => [a, fmtMiB(rss[a].peak), fmtMiB(rss[a].growth)]),
    ),
    '',
    `Slowest stage by p50: **${STAGE_NAMES[slowest]}**${slowApp ? `, done by ${slowApp}` : ''}.`,
    '',
    ...(slowApp && profiles[slowApp]
      ? profileLines(slowApp, profiles[slowApp])
      : [ctx.profile ? '(No profile of the slowest stage.)' : '(No CPU profile in this run: --quick or --no-profile.)', '']),
    '### Open loop at a fixed offered rate',
    '',
    ...(open ? openLoopLines(open, idle, cpus().length) : [`**Broke**: ${openFailure ?? 'not run'}.`]),
  ];
  const commitsNote = ctx.quick ? ' (approximate in --quick: no settle)' : '';
  const targets: Target[] = [
    thresholdTarget({
      name: 'Small files (closed loop): platform vs the store’s pre-signed PUT rate',
      source: 'issue 14',
      value: vsStore,
      limit: 0.4,
      atLeast: true,
      wanted: '≥ 40%',
      measured: `${pct(vsStore)} (${fmt(fps.median)} vs ${fmt(storeFps.median)} /s)`,
      why: `slowest stage: ${STAGE_NAMES[slowest]}`,
    }),
    thresholdTarget({
      name: 'Small files (closed loop): platform vs the data-plane floor (PUT + GET)',
      source: 'issue 14',
      value: vsFloor,
      limit: 0.7,
      atLeast: true,
      wanted: '≥ 70%',
      measured: `${pct(vsFloor)} (${fmt(fps.median)} vs ${fmt(floorFps.median)} /s)`,
    }),
    thresholdTarget({
      name: 'CPU of our three apps per small file',
      source: 'issue 14',
      value: appsCpu.median,
      limit: 6,
      atLeast: false,
      wanted: '≤ 6 ms',
      measured: `${fmtFigure(appsCpu, 1)} ms`,
    }),
    thresholdTarget({
      name: 'Database commits per small file',
      source: 'issue 14',
      value: db.commitsPerUnit,
      limit: 4,
      atLeast: false,
      wanted: '≤ 4',
      measured: `${fmt(db.commitsPerUnit, 2)}${commitsNote}; ${fmt(db.statementsPerUnit, 1)} statements`,
    }),
    ...(open
      ? openLoopTargets(open)
      : [
          {
            name: 'Open loop at 100 files/s',
            source: 'issue 14',
            wanted: 'notification → UPLOADED p99 < 50 ms; no growing backlog',
            measured: 'broke',
            met: null,
            note: openFailure ?? undefined,
          },
        ]),
  ];
  return {
    id: 2,
    title: 'Small files end to end',
    lines,
    targets,
    data: {
      n,
      clients: CLIENTS,
      platform,
      store,
      floor,
      idle: idle && { ...idle, db: idle.db && { commits: idle.db.commits } },
      db,
      open,
      rss,
      slowest: STAGE_NAMES[slowest],
      profiles,
    },
    failures: openFailure ? [`open loop: ${openFailure}`] : [],
  };
}

export const smallFiles: Scenario = { id: 2, key: 'small', title: 'small files', run };
