import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import autocannon from 'autocannon';
import { ormConfig } from '@app/database';
import { buildObjectKey, planJobs, UploadSession } from '@app/domain';
import { S3ObjectStorage } from '@app/storage';
import { System } from '../apps';
import { GATEWAY, tokenFor } from '../client';
import { benchEnv, storageFor } from '../env';
import { BenchContext, pct, Section, table } from '../report';
import { Figure, figure, fmtFigure, percentile } from '../stats';

const BODY = { filename: 'bench.bin', contentType: 'application/octet-stream', size: 4096 };

interface Point {
  concurrency: number;
  rps: Figure;
  p50: Figure;
  p99: Figure;
}

async function overHttp(concurrency: number, seconds: number, token: string): Promise<{ rps: number; p50: number; p99: number }> {
  const r = await autocannon({
    url: `${GATEWAY}/v1/uploads`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(BODY),
    connections: concurrency,
    duration: seconds,
  });
  if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) throw new Error(`POST /v1/uploads under load: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.total / seconds, p50: r.latency.p50, p99: r.latency.p99 };
}

/** The same work without HTTP, Nest, auth or validation: build the entity, presign its PUT, insert it. */
async function inProcess(orm: MikroORM, storage: S3ObjectStorage, concurrency: number, seconds: number): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  const plan = planJobs(BODY.contentType, undefined, [{ pattern: '*/*', jobs: [] }]);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const id = randomUUID();
        const session = new UploadSession({
          id,
          bucket: storage.bucket,
          objectKey: buildObjectKey(id, BODY.filename),
          filename: BODY.filename,
          contentType: BODY.contentType,
          size: BODY.size,
          userId: null,
          expiresAt: new Date(Date.now() + 86_400_000),
          jobPlan: plan,
        });
        await storage.presignPut(session.objectKey, { contentType: session.contentType, contentLength: BODY.size, expiresInSeconds: 900 });
        await orm.em.fork().persistAndFlush(session);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function sessionCreation(ctx: BenchContext): Promise<Section> {
  const concurrencies = ctx.quick ? [8] : [1, 8, 32];
  const seconds = ctx.quick ? 3 : 6;
  const token = tokenFor('bench-user-1');
  const http: Point[] = [];
  const bare: Point[] = [];

  const sys = await System.start();
  try {
    await overHttp(8, ctx.quick ? 1 : 3, token); // warm-up: JIT, pools, the user row
    for (const c of concurrencies) {
      const runs = [];
      for (let i = 0; i < ctx.runs; i++) runs.push(await overHttp(c, seconds, token));
      sys.assertAlive();
      http.push({ concurrency: c, rps: figure(runs.map((r) => r.rps)), p50: figure(runs.map((r) => r.p50)), p99: figure(runs.map((r) => r.p99)) });
      ctx.log(`  HTTP c=${c}: ${fmtFigure(http.at(-1)!.rps)} req/s`);
    }
  } finally {
    await sys.stop();
  }

  const env = benchEnv();
  // The gateway's pool size (ormConfig's default), in this process.
  const orm = await MikroORM.init(ormConfig(env.DATABASE_URL));
  const storage = storageFor();
  try {
    await inProcess(orm, storage, 8, 1);
    for (const c of concurrencies) {
      const runs = [];
      for (let i = 0; i < ctx.runs; i++) runs.push(await inProcess(orm, storage, c, seconds));
      bare.push({ concurrency: c, rps: figure(runs.map((r) => r.rps)), p50: figure(runs.map((r) => r.p50)), p99: figure(runs.map((r) => r.p99)) });
      ctx.log(`  in-process c=${c}: ${fmtFigure(bare.at(-1)!.rps)} ops/s`);
    }
  } finally {
    await orm.close(true);
  }

  const rows = http.map((h, i) => {
    const b = bare[i];
    return [h.concurrency, fmtFigure(h.rps), fmtFigure(h.p50, 1), fmtFigure(h.p99, 1), fmtFigure(b.rps), fmtFigure(b.p50, 2), fmtFigure(b.p99, 2), pct(h.rps.median / b.rps.median)];
  });
  return {
    id: 1,
    title: 'Session creation: POST /v1/uploads',
    lines: [
      `autocannon (pinned, as a library), ${seconds} s per run, bearer token of one user, body \`${JSON.stringify(BODY)}\` (a SINGLE upload). ` +
        `Limit: the same work in one process without HTTP (build the entity, presign the PUT with the storage adapter, insert it with MikroORM, pool of the gateway's size).`,
      '',
      ...table(
        ['concurrency', ' HTTP req/s', ' HTTP p50 ms', ' HTTP p99 ms', ' presign+insert ops/s', ' p50 ms', ' p99 ms', ' HTTP / limit'],
        rows,
      ),
    ],
    targets: [],
    data: { http, bare, seconds },
  };
}
