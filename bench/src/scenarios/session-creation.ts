import { cpus } from 'node:os';
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
import { System } from '../apps';
import { GATEWAY, tokenFor } from '../client';
import { benchEnv, freshDatabase, limitDatabaseUrl } from '../env';
import { httpLoad, LoadResult } from '../http-load';
import { CreateLimitRun, LimitWorker } from '../limits/client';
import { BenchContext, pct, Scenario, Section, table, Target, thresholdTarget } from '../report';
import { Figure, figure, fmt, fmtFigure } from '../stats';

/** A SINGLE upload (below the multipart threshold). */
const BODY = { filename: 'bench.bin', contentType: 'application/octet-stream', size: 4096 };
const USER = 'bench-user-1';
/** Quota on (1 TiB): the route does its quota bookkeeping on every create, and never refuses one here. */
const QUOTA_BYTES = String(2 ** 40);
const STATS_SETTLE_MS = 11_000;
const TARGET_CONCURRENCY = 8;

interface Point {
  concurrency: number;
  http: (LoadResult & { cpu: CpuWindow })[];
  limit: (CreateLimitRun & { cpu: CpuWindow })[];
}

async function run(ctx: BenchContext): Promise<Section> {
  const concurrencies = ctx.quick ? [TARGET_CONCURRENCY] : [1, TARGET_CONCURRENCY, 32];
  const runsAt = (c: number) => (ctx.quick ? 1 : c === TARGET_CONCURRENCY ? ctx.runs : Math.min(3, ctx.runs));
  const seconds = ctx.quick ? 3 : 5;
  const token = tokenFor(USER);
  const appEnv = { USER_QUOTA_BYTES: QUOTA_BYTES };
  const points: Point[] = [];
  let idle: IdleRates | null = null;
  let limitIdle: IdleRates | null = null;
  let httpDb: ReturnType<typeof dbLines> | null = null;
  let limitDb: ReturnType<typeof dbLines> | null = null;
  let httpGroups: ProcessGroup[] = [];
  let limitGroups: ProcessGroup[] = [];

  // The in-process limit writes to a database of its own (same schema), so each side's counters are its own.
  freshDatabase(limitDatabaseUrl());
  const sys = await System.start({ env: appEnv });
  const worker = LimitWorker.start('create-limit', { ...appEnv, DATABASE_URL: limitDatabaseUrl() });
  const stats = await DbStats.open(benchEnv().DATABASE_URL);
  const limitStats = await DbStats.open(limitDatabaseUrl());
  const http = (c: number, s: number) =>
    httpLoad({
      url: `${GATEWAY}/v1/uploads`,
      method: 'POST',
      body: BODY,
      headers: { authorization: `Bearer ${token}` },
      connections: c,
      seconds: s,
      expect: 201,
      what: 'POST /v1/uploads',
    });
  const inProcess = (c: number, s: number) => worker.create({ concurrency: c, seconds: s, body: BODY, userId: USER });
  try {
    await worker.initCreate();
    httpGroups = pathProcesses({ apps: sys.pids, databases: [stats.database], excludeBackends: [stats.backendPid] });
    limitGroups = pathProcesses({
      apps: sys.pids,
      databases: [limitStats.database],
      extra: { 'in-process limit (worker)': worker.pid },
      excludeBackends: [limitStats.backendPid],
    });
    // Warm-up: JIT, pools, the user row on both sides.
    await http(TARGET_CONCURRENCY, ctx.quick ? 1 : 2);
    await inProcess(TARGET_CONCURRENCY, ctx.quick ? 1 : 2);
    if (!ctx.quick) {
      await sleep(STATS_SETTLE_MS);
      // One after the other: a meter samples /proc from this process, and two at once would double its own cost.
      idle = await measureIdle(httpGroups, stats, 5);
      limitIdle = await measureIdle(limitGroups, limitStats, 5);
    }
    const httpBefore = await stats.snapshot();
    const limitBefore = await limitStats.snapshot();
    let httpEnd = 0;
    let created = 0;
    let limitOps = 0;
    for (const c of concurrencies) {
      const p: Point = { concurrency: c, http: [], limit: [] };
      for (let i = 0; i < runsAt(c); i++) {
        // Interleaved: HTTP, then the in-process limit, while the apps run.
        let meter = new CpuMeter(httpGroups).start();
        const h = await http(c, seconds);
        p.http.push({ ...h, cpu: meter.stop() });
        httpEnd = performance.now();
        created += h.requests;
        sys.assertAlive();
        meter = new CpuMeter(limitGroups).start();
        const l = await inProcess(c, seconds);
        p.limit.push({ ...l, cpu: meter.stop() });
        limitOps += l.ops;
      }
      points.push(p);
      ctx.log(
        `  c=${c}: HTTP ${fmtFigure(figure(p.http.map((r) => r.rps)))} req/s, in-process ${fmtFigure(figure(p.limit.map((r) => r.ops / r.seconds)))} ops/s`,
      );
    }
    if (!ctx.quick) await sleep(Math.max(0, httpEnd + STATS_SETTLE_MS - performance.now()));
    httpDb = dbLines(dbDelta(httpBefore, await stats.snapshot()), created, 'create', idle, { settled: !ctx.quick, top: 6 });
    if (!ctx.quick) await sleep(STATS_SETTLE_MS);
    limitDb = dbLines(dbDelta(limitBefore, await limitStats.snapshot()), limitOps, 'create', limitIdle, { settled: !ctx.quick, top: 6 });
  } finally {
    await stats.close();
    await limitStats.close();
    await worker.close();
    await sys.stop();
  }

  const fig = (values: number[]) => figure(values);
  const rows = points.map((p) => {
    const h = fig(p.http.map((r) => r.rps));
    const l = fig(p.limit.map((r) => r.ops / r.seconds));
    return [
      p.concurrency,
      fmtFigure(h),
      fmtFigure(fig(p.http.map((r) => r.p50)), 1),
      fmtFigure(fig(p.http.map((r) => r.p99)), 1),
      fmtFigure(l),
      fmtFigure(fig(p.limit.map((r) => r.p50)), 2),
      fmtFigure(fig(p.limit.map((r) => r.p99)), 2),
      pct(h.median / l.median),
      fmtFigure(gatewayCpu(p, idle), 2),
    ];
  });
  const at = points.find((p) => p.concurrency === TARGET_CONCURRENCY)!;
  const rps = fig(at.http.map((r) => r.rps));
  const p99 = fig(at.http.map((r) => r.p99));
  const limit = fig(at.limit.map((r) => r.ops / r.seconds));
  const gw = gatewayCpu(at, idle);
  const runsOf = (list: { requests?: number; ops?: number; cpu: CpuWindow }[]): CpuRun[] =>
    list.map((r) => ({ window: r.cpu, units: r.requests ?? r.ops ?? 1 }));
  const targets: Target[] = [
    thresholdTarget({
      name: `POST /v1/uploads at ${TARGET_CONCURRENCY} connections: rate`,
      source: 'issue 15',
      value: rps.median,
      limit: 1000,
      atLeast: true,
      wanted: '≥ 1,000 req/s',
      measured: `${fmtFigure(rps)} req/s`,
    }),
    thresholdTarget({
      name: `POST /v1/uploads at ${TARGET_CONCURRENCY} connections: p99`,
      source: 'issue 15',
      value: p99.median,
      limit: 20,
      atLeast: false,
      wanted: '< 20 ms',
      measured: `${fmtFigure(p99, 0)} ms`,
    }),
    thresholdTarget({
      name: 'POST /v1/uploads vs its in-process limit (same run)',
      source: 'issue 15',
      value: rps.median / limit.median,
      limit: 0.7,
      atLeast: true,
      wanted: '≥ 70%',
      measured: `${pct(rps.median / limit.median)} (${fmt(rps.median)} vs ${fmt(limit.median)} /s)`,
    }),
    thresholdTarget({
      name: 'Gateway CPU per create',
      source: 'issue 15',
      value: gw.median,
      limit: 1,
      atLeast: false,
      wanted: '< 1 ms',
      measured: `${fmtFigure(gw, 2)} ms`,
    }),
  ];
  return {
    id: 1,
    title: 'Session creation: POST /v1/uploads',
    lines: [
      `autocannon (as a library, in the bench process), ${seconds} s per run, a signed-in user (bearer token), quota on (USER_QUOTA_BYTES=${QUOTA_BYTES}), ` +
        `body \`${JSON.stringify(BODY)}\` (a SINGLE upload). Runs at ${TARGET_CONCURRENCY} connections: ${runsAt(TARGET_CONCURRENCY)}${concurrencies.length > 1 ? `; at the others: ${runsAt(1)}` : ''}. ` +
        `In-process limit, interleaved with the HTTP runs while the apps run: the use case the route calls (\`GenerateFileUploadUrlUseCase.execute\`: validate, presign, ` +
        `insert, quota bookkeeping) resolved from the gateway's own Nest module graph and config, in a process of its own, the same number of callers at once, ` +
        `on a database of its own with the same schema (bench/README.md).`,
      '',
      ...table(
        [
          'connections',
          ' HTTP req/s',
          ' HTTP p50 ms',
          ' HTTP p99 ms',
          ' in-process ops/s',
          ' p50 ms',
          ' p99 ms',
          ' HTTP / limit',
          ' gateway CPU ms per create',
        ],
        rows,
      ),
      '',
      `### Where every millisecond of a create goes (${TARGET_CONCURRENCY} connections)`,
      '',
      ...cpuTable(
        [
          { title: 'HTTP', runs: runsOf(at.http), unit: 'create' },
          { title: 'in-process limit', runs: runsOf(at.limit), unit: 'create' },
        ],
        idle,
        cpus().length,
      ),
      '',
      ...processNotes(httpGroups),
      '',
      'HTTP (every run, all connection counts): ' + (httpDb?.lines.join('\n') ?? 'not measured'),
      '',
      'In-process limit (its own database): ' + (limitDb?.lines.join('\n') ?? 'not measured'),
    ],
    targets,
    data: { seconds, points, limitIdle: limitIdle?.cpu, commitsPerCreate: httpDb?.commitsPerUnit, statementsPerCreate: httpDb?.statementsPerUnit },
  };
}

/** Gateway CPU per create over the HTTP runs of a point, net of its idle rate. */
function gatewayCpu(p: Point, idle: IdleRates | null): Figure {
  return figure(p.http.map((r) => (netCpu(r.cpu, 'upload-gateway', idle) * 1000) / r.requests));
}

export const sessionCreation: Scenario = { id: 1, key: 'create', title: 'session creation', run };
