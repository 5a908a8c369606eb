import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import autocannon from 'autocannon';
import { gatewayConfig, GatewayEnv, validateEnv } from '@app/config';
import { ormConfig } from '@app/database';
import { Actor, GenerateFileUploadUrlUseCase, Sql, StorageQuota, UploadPolicy, UploadSessionRepository } from '@app/domain';
import { System } from '../apps';
import { GATEWAY, tokenFor } from '../client';
import { benchEnv, storageFor } from '../env';
import { cpuSeconds } from '../proc';
import { BenchContext, pct, Section, table, Target } from '../report';
import { Figure, figure, fmtFigure, percentile } from '../stats';

const BODY = { filename: 'bench.bin', contentType: 'application/octet-stream', size: 4096 };
const USER = 'bench-user-1';
/**
 * The deployment under test: quota on (a petabyte: charged on every create, never reached), rate limits off
 * (a load test from one caller would trip them; they cost O(1) per request when on).
 */
const LOAD_ENV = { USER_QUOTA_BYTES: String(1024 ** 5), RATE_LIMIT_WRITES: '0', RATE_LIMIT_REQUESTS: '0' };

interface Point {
  concurrency: number;
  rps: Figure;
  p50: Figure;
  p99: Figure;
}

async function overHttp(concurrency: number, seconds: number, token: string): Promise<{ rps: number; p50: number; p99: number; requests: number }> {
  const r = await autocannon({
    url: `${GATEWAY}/v1/uploads`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(BODY),
    connections: concurrency,
    duration: seconds,
  });
  if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) throw new Error(`POST /v1/uploads under load: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.total / seconds, p50: r.latency.p50, p99: r.latency.p99, requests: r.requests.total };
}

/**
 * The route's own work without HTTP, Nest or the token: the use case itself (validation, policy, signing the PUT,
 * the one statement that charges the quota and inserts the session), as the same signed-in user.
 */
async function inProcess(useCase: GenerateFileUploadUrlUseCase, concurrency: number, seconds: number): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  const actor: Actor = { userId: USER, isAdmin: false, uploadToken: null };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        await useCase.execute(actor, { ...BODY });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function sessionCreation(ctx: BenchContext): Promise<Section> {
  const concurrencies = ctx.quick ? [8] : [1, 8, 32];
  const seconds = ctx.quick ? 3 : 6;
  const token = tokenFor(USER);
  const http: (Point & { cpuMsPerCreate: Figure })[] = [];
  const bare: Point[] = [];

  const env = benchEnv(LOAD_ENV);
  const config = gatewayConfig(validateEnv(GatewayEnv, env));
  // The gateway's pool size (ormConfig's default), in this process.
  const orm = await MikroORM.init(ormConfig(env.DATABASE_URL));
  const policy: UploadPolicy = { ...config.uploads, anonymousUploads: config.auth.anonymousUploads };
  const useCase = new GenerateFileUploadUrlUseCase(orm.em, new UploadSessionRepository(new Sql(orm.em), new StorageQuota(policy), orm.em), storageFor(), policy);
  const sys = await System.start({ env: LOAD_ENV });
  const gatewayPid = sys.pids['upload-gateway'];
  try {
    await overHttp(8, ctx.quick ? 1 : 3, token); // warm-up: JIT, pools, the user row
    await inProcess(useCase, 8, 1);
    for (const c of concurrencies) {
      // Interleaved: each HTTP run is followed by a run of the limit, so both see the same machine.
      const runs = [];
      const limits = [];
      for (let i = 0; i < ctx.runs; i++) {
        const cpu0 = cpuSeconds(gatewayPid);
        const run = await overHttp(c, seconds, token);
        runs.push({ ...run, cpuMsPerCreate: ((cpuSeconds(gatewayPid) - cpu0) * 1000) / run.requests });
        limits.push(await inProcess(useCase, c, seconds));
      }
      sys.assertAlive();
      http.push({
        concurrency: c,
        rps: figure(runs.map((r) => r.rps)),
        p50: figure(runs.map((r) => r.p50)),
        p99: figure(runs.map((r) => r.p99)),
        cpuMsPerCreate: figure(runs.map((r) => r.cpuMsPerCreate)),
      });
      bare.push({ concurrency: c, rps: figure(limits.map((r) => r.rps)), p50: figure(limits.map((r) => r.p50)), p99: figure(limits.map((r) => r.p99)) });
      ctx.log(`  c=${c}: HTTP ${fmtFigure(http.at(-1)!.rps)} req/s (gateway ${fmtFigure(http.at(-1)!.cpuMsPerCreate, 2)} ms CPU per create), in-process ${fmtFigure(bare.at(-1)!.rps)} ops/s`);
    }
  } finally {
    await sys.stop();
    await orm.close(true);
  }

  const rows = http.map((h, i) => {
    const b = bare[i];
    return [
      h.concurrency,
      fmtFigure(h.rps),
      fmtFigure(h.p50, 1),
      fmtFigure(h.p99, 1),
      fmtFigure(h.cpuMsPerCreate, 2),
      fmtFigure(b.rps),
      fmtFigure(b.p50, 2),
      fmtFigure(b.p99, 2),
      pct(h.rps.median / b.rps.median),
    ];
  });
  const at8 = http.find((h) => h.concurrency === 8)!;
  const limit8 = bare.find((b) => b.concurrency === 8)!;
  const targets: Target[] = [
    { name: 'POST /v1/uploads at 8 connections (quota on)', target: '≥ 1,000 req/s', actual: `${fmtFigure(at8.rps)} req/s`, met: at8.rps.median >= 1000 },
    { name: 'POST /v1/uploads p99 at 8 connections', target: '< 20 ms', actual: `${fmtFigure(at8.p99, 1)} ms`, met: at8.p99.median < 20 },
    { name: 'POST /v1/uploads against its in-process limit, 8 connections', target: '≥ 70%', actual: pct(at8.rps.median / limit8.rps.median), met: at8.rps.median >= 0.7 * limit8.rps.median },
    { name: 'Gateway CPU per create (8 connections)', target: '< 1 ms', actual: `${fmtFigure(at8.cpuMsPerCreate, 2)} ms`, met: at8.cpuMsPerCreate.median < 1 },
  ];
  return {
    id: 1,
    title: 'Session creation: POST /v1/uploads',
    lines: [
      `autocannon (pinned, as a library), ${seconds} s per run, bearer token of one user, body \`${JSON.stringify(BODY)}\` (a SINGLE upload); ` +
        `quota on (USER_QUOTA_BYTES = 1 PiB: charged on every create), rate limits off. Gateway CPU per create from /proc/<pid>/stat over each run. ` +
        `Limit: the route's use case in this process without HTTP, Nest or the token (validation, policy, signing the PUT, the one statement that ` +
        `charges the quota and inserts the session), as the same user, pool of the gateway's size; interleaved with the HTTP runs.`,
      '',
      ...table(
        ['concurrency', ' HTTP req/s', ' HTTP p50 ms', ' HTTP p99 ms', ' gateway CPU ms/create', ' limit ops/s', ' p50 ms', ' p99 ms', ' HTTP / limit'],
        rows,
      ),
    ],
    targets,
    data: { http, bare, seconds },
  };
}
