import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { Client } from 'pg';
import { amqpPriorityOf, jobQueue, jobRoutingKey, JobType, RunJobV1, Topology } from '@app/contracts';
import { buildObjectKey } from '@app/domain';
import { cpuTable, CpuMeter, CpuRun, pathProcesses, ProcessGroup, processNotes, sleep } from '../accounting';
import { isRunning, RunningProcess, startApp, stopProcess } from '../apps';
import { inParallel } from '../client';
import { benchEnv, freshDatabase, limitDatabaseUrl, psql, s3Client } from '../env';
import { LimitWorker } from '../limits/client';
import { BenchContext, BenchFailure, pct, Scenario, Section, table, Target, thresholdTarget } from '../report';
import { figure, fmt, fmtFigure, percentile } from '../stats';

const SIZE = 4096;
const TYPES = [JobType.VALIDATION, JobType.CHECKSUM] as const;

/**
 * Jobs fed straight to the processor: sessions (UPLOADED, objects really in the store) and their job rows
 * inserted with SQL, the RunJobV1 messages published to the jobs exchange as the outbox relay publishes them
 * (the contract's own types: a change of the message shows up here at compile time). The processor consumes
 * real messages and does the real work. The bench's own queries go over one connection, left out of the CPU.
 */
export class JobBench {
  private readonly url = benchEnv().DATABASE_URL;
  sessions: string[] = [];

  private constructor(readonly db: Client) {}

  static async open(): Promise<JobBench> {
    const db = new Client({ connectionString: benchEnv().DATABASE_URL, application_name: 'bench-jobs' });
    await db.connect();
    return new JobBench(db);
  }

  async backendPid(): Promise<number> {
    return (await this.db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;
  }

  private async value(sql: string, params: unknown[] = []): Promise<number> {
    return Number(Object.values((await this.db.query(sql, params)).rows[0])[0]);
  }

  async prepareSessions(count: number, log: (m: string) => void): Promise<void> {
    const env = benchEnv();
    const ids = Array.from({ length: count }, () => randomUUID());
    const values = ids.map((id) => `('${id}', '${buildObjectKey(id, 'job.bin').replace(/'/g, "''")}')`).join(',');
    psql(
      this.url,
      `insert into upload_session (id, bucket, object_key, status, filename, content_type, size, metadata, job_plan, total_parts, completed_parts, counted_in_group, uploaded_at, expires_at, created_at, updated_at, version)
       select v.id::uuid, '${env.S3_BUCKET}', v.key, 'UPLOADED', 'job.bin', 'application/octet-stream', ${SIZE}, '{}', '[]', 0, 0, false, now(), now() + interval '1 day', now(), now(), 1
       from (values ${values}) as v(id, key)`,
    );
    const s3 = s3Client();
    const body = Buffer.alloc(SIZE, 7);
    const t0 = Date.now();
    await inParallel(ids, 32, async (id) => {
      await s3.send(new PutObjectCommand({ Bucket: env.S3_BUCKET, Key: buildObjectKey(id, 'job.bin'), Body: body, ContentType: 'application/octet-stream' }));
    });
    log(`  ${count} objects of 4 KiB stored in ${fmt((Date.now() - t0) / 1000)} s`);
    this.sessions = ids;
  }

  objects(count: number): { id: string; key: string; size: number }[] {
    return this.sessions.slice(0, count).map((id) => ({ id, key: buildObjectKey(id, 'job.bin'), size: SIZE }));
  }

  async reset(): Promise<void> {
    await this.db.query(`delete from processing_job; update upload_session set status = 'UPLOADED' where status <> 'UPLOADED'; delete from outbox_message`);
  }

  /** Inserts jobs for sessions [from, from + count) and publishes their messages. */
  async enqueue(type: JobType, priority: number, from: number, count: number, ch: amqp.ConfirmChannel): Promise<string[]> {
    const ids = this.sessions.slice(from, from + count);
    if (ids.length < count) throw new Error(`only ${ids.length} sessions prepared for ${count} jobs`);
    const { rows } = await this.db.query<{ id: string; session_id: string }>(
      `insert into processing_job (id, session_id, type, status, priority, required, config, attempts, max_attempts, created_at, updated_at)
       select gen_random_uuid(), s, $1, 'PENDING', $2, true, '{}', 0, 3, now(), now() from unnest($3::uuid[]) as s
       returning id, session_id`,
      [type, priority, ids],
    );
    for (const r of rows) {
      const msg: RunJobV1 = { version: 1, jobId: r.id, sessionId: r.session_id, type, correlationId: r.session_id };
      ch.publish(Topology.jobsExchange, jobRoutingKey(type, priority), Buffer.from(JSON.stringify(msg)), {
        persistent: true,
        contentType: 'application/json',
        messageId: randomUUID(),
        priority: amqpPriorityOf(priority),
        timestamp: Math.floor(Date.now() / 1000),
      });
    }
    await ch.waitForConfirms();
    return rows.map((r) => r.id);
  }

  finishedCount(): Promise<number> {
    return this.value(`select count(*) from processing_job where status in ('COMPLETED', 'FAILED', 'CANCELLED')`);
  }

  async waitFinished(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await this.finishedCount()) < n) {
      if (Date.now() > deadline) throw new BenchFailure(`only ${await this.finishedCount()} of ${n} jobs finished after ${timeoutMs} ms (timeout)`);
      await sleep(100);
    }
    const { rows } = await this.db.query(`select type, status, error from processing_job where status <> 'COMPLETED' limit 3`);
    if (rows.length > 0) throw new BenchFailure(`jobs did not complete: ${JSON.stringify(rows)}`);
  }

  /** Jobs per second over the processing window (first claim to last finish, in the processor's clock). */
  async rate(): Promise<number> {
    const { rows } = await this.db.query<{ n: string; s: number }>(
      `select count(*) as n, extract(epoch from max(finished_at) - min(started_at)) as s from processing_job`,
    );
    return Number(rows[0].n) / Number(rows[0].s);
  }
}

export async function confirmChannel(url = benchEnv().AMQP_URL): Promise<{ ch: amqp.ConfirmChannel; close: () => Promise<void> }> {
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  return { ch, close: () => conn.close().catch(() => undefined) };
}

export async function purge(queues: string[], url = benchEnv().AMQP_URL): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  for (const queue of queues) await ch.purgeQueue(queue);
  await conn.close();
}

/**
 * The priority-1 wait behind a backlog: `backlog` priority-10 VALIDATION jobs queued, then `probes` priority-1 jobs
 * published one every 200 ms while the backlog drains; wait = claim (started_at) − publish. After each run the rest
 * of the backlog is purged from `queues` and the jobs in flight finish.
 */
export async function measurePriorityWaits(
  bench: JobBench,
  ch: amqp.ConfirmChannel,
  opts: { backlog: number; probes: number; runs: number; queues: string[]; url?: string; log: (m: string) => void },
): Promise<{ waits: number[][]; backlogLeft: number[] }> {
  const { backlog, probes } = opts;
  const waits: number[][] = [];
  const backlogLeft: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    await bench.reset();
    await bench.enqueue(JobType.VALIDATION, 10, 0, backlog, ch);
    // Let the processor get going on the backlog, then add urgent jobs one at a time.
    while ((await bench.finishedCount()) < Math.min(20, backlog / 10)) await sleep(100);
    const published: { jobId: string; at: number }[] = [];
    for (let k = 0; k < probes; k++) {
      const at = Date.now();
      const [jobId] = await bench.enqueue(JobType.VALIDATION, 1, backlog + k, 1, ch);
      published.push({ jobId, at });
      await sleep(200);
    }
    const ids = published.map((p) => p.jobId);
    const deadline = Date.now() + 60_000;
    while (Number((await bench.db.query(`select count(*) as n from processing_job where id = any($1) and status = 'COMPLETED'`, [ids])).rows[0].n) < probes) {
      if (Date.now() > deadline) throw new BenchFailure('priority-1 jobs did not complete within 60 s behind the backlog (timeout)');
      await sleep(100);
    }
    backlogLeft.push(Number((await bench.db.query(`select count(*) as n from processing_job where priority = 10 and status = 'PENDING'`)).rows[0].n));
    const started = new Map(
      (
        await bench.db.query<{ id: string; ms: string }>(
          `select id, (extract(epoch from started_at) * 1000)::bigint as ms from processing_job where id = any($1)`,
          [ids],
        )
      ).rows.map((r) => [r.id, Number(r.ms)]),
    );
    waits.push(published.map((p) => started.get(p.jobId)! - p.at));
    opts.log(
      `  priority-1 wait behind ${backlog}: p50 ${fmt(percentile(waits.at(-1)!, 50), 0)} ms, max ${fmt(Math.max(...waits.at(-1)!), 0)} ms; backlog left ${backlogLeft.at(-1)}`,
    );
    // Drop the rest of the backlog: purge, let the messages in flight finish.
    await purge(opts.queues, opts.url);
    const quiet = Date.now() + 30_000;
    while (Number((await bench.db.query(`select count(*) as n from processing_job where status = 'RUNNING'`)).rows[0].n) > 0 && Date.now() < quiet)
      await sleep(100);
  }
  return { waits, backlogLeft };
}

interface TypeRuns {
  rates: number[];
  bare: number[];
  cpu: CpuRun[];
  bareCpu: CpuRun[];
}

async function run(ctx: BenchContext): Promise<Section> {
  const n = ctx.quick ? 60 : 300;
  const backlog = ctx.quick ? 300 : 10_000;
  const probes = ctx.quick ? 3 : 20;
  const priorityRuns = ctx.quick ? 1 : 3;
  const warmup = ctx.quick ? 10 : 50;
  const bench = await JobBench.open();
  const concurrency = Number(benchEnv().JOB_CONCURRENCY);
  const byType: Record<string, TypeRuns> = Object.fromEntries(TYPES.map((t) => [t, { rates: [], bare: [], cpu: [], bareCpu: [] }]));
  const waits: number[][] = [];
  const backlogLeft: number[] = [];
  let processor: RunningProcess | null = null;
  let worker: LimitWorker | null = null;
  let groups: ProcessGroup[] = [];
  let bareGroups: ProcessGroup[] = [];
  const { ch, close } = await confirmChannel();
  try {
    await bench.prepareSessions(Math.max(n, backlog) + probes, ctx.log);
    processor = await startApp('job-processor');
    // The handlers read the store only; the worker's own module graph (its outbox relay among it) gets a database of its own.
    freshDatabase(limitDatabaseUrl());
    worker = LimitWorker.start('handler-limit', { DATABASE_URL: limitDatabaseUrl() });
    const { types } = await worker.initHandlers();
    for (const t of TYPES) if (!types.includes(t)) throw new BenchFailure(`the job-processor's module graph has no ${t} handler (found ${types.join(', ')})`);
    const own = [await bench.backendPid()];
    groups = pathProcesses({ apps: { 'job-processor': processor.pid }, databases: [new URL(benchEnv().DATABASE_URL).pathname.slice(1)], excludeBackends: own });
    bareGroups = pathProcesses({ apps: { 'job-processor': processor.pid }, databases: [], extra: { 'handlers alone (worker)': worker.pid } });

    for (const type of TYPES) {
      await bench.reset();
      await bench.enqueue(type, 5, 0, warmup, ch); // warm-up
      await bench.waitFinished(warmup, 60_000);
      await worker.handler({ type, objects: bench.objects(warmup), concurrency });
      const r = byType[type];
      for (let i = 0; i < ctx.runs; i++) {
        await bench.reset();
        let meter = new CpuMeter(groups).start();
        await bench.enqueue(type, 5, 0, n, ch);
        await bench.waitFinished(n, 60_000 + n * 100);
        r.cpu.push({ window: meter.stop(), units: n });
        r.rates.push(await bench.rate());
        // The limit: the same handlers the processor's module graph wires, on the same objects, as many at once.
        meter = new CpuMeter(bareGroups).start();
        const bare = await worker.handler({ type, objects: bench.objects(n), concurrency });
        r.bareCpu.push({ window: meter.stop(), units: n });
        r.bare.push(bare.ops / bare.seconds);
        ctx.log(`  ${type}: ${fmt(r.rates.at(-1)!)} jobs/s, handler alone ${fmt(r.bare.at(-1)!)} /s`);
      }
    }

    const measured = await measurePriorityWaits(bench, ch, { backlog, probes, runs: priorityRuns, queues: [jobQueue(JobType.VALIDATION)], log: ctx.log });
    waits.push(...measured.waits);
    backlogLeft.push(...measured.backlogLeft);
    if (!isRunning(processor)) throw new BenchFailure(`job-processor exited; see ${processor.log}`);
  } finally {
    await close();
    if (worker) await worker.close();
    if (processor) await stopProcess(processor);
    await bench.reset().catch(() => undefined);
    await bench.db.end().catch(() => undefined);
  }

  const all = waits.flat();
  const p50 = percentile(all, 50);
  const p99 = percentile(all, 99);
  const rows = TYPES.map((t) => {
    const rate = figure(byType[t].rates);
    const bare = figure(byType[t].bare);
    return [t === JobType.CHECKSUM ? 'CHECKSUM (SHA-256 + MD5 streamed)' : t, fmtFigure(rate), fmtFigure(bare), pct(rate.median / bare.median)];
  });
  const targets: Target[] = [
    ...TYPES.map((t) => {
      const ratio = figure(byType[t].rates).median / figure(byType[t].bare).median;
      return thresholdTarget({
        name: `Job processor vs its ${t} handler alone`,
        source: 'issue 14',
        value: ratio,
        limit: 0.8,
        atLeast: true,
        wanted: '≥ 80%',
        measured: `${pct(ratio)} (${fmt(figure(byType[t].rates).median)} vs ${fmt(figure(byType[t].bare).median)} /s)`,
      });
    }),
    thresholdTarget({
      name: `Priority-1 wait p99 behind ${fmt(backlog, 0)} queued priority-10 jobs`,
      source: 'issue 14',
      value: p99,
      limit: 1000,
      atLeast: false,
      wanted: '< 1 s',
      measured: `${fmt(p99, 0)} ms (p50 ${fmt(p50, 0)} ms, ${all.length} urgent jobs)`,
    }),
  ];
  const cpuColumns = TYPES.flatMap((t) => [
    { title: `${t} processor`, runs: byType[t].cpu, unit: 'job' },
    { title: `${t} alone`, runs: byType[t].bareCpu, unit: 'job' },
  ]);
  return {
    id: 4,
    title: 'Jobs',
    lines: [
      `One job-processor (JOB_CONCURRENCY=${concurrency}, all job types). Jobs on 4 KiB files that are really in the store; rows inserted with SQL, ` +
        `RunJobV1 messages published to the jobs exchange exactly as the outbox relay does; the processor claims, runs and settles each one. ` +
        `jobs/s = jobs / (last finish − first claim), ${n} jobs per run, ${ctx.runs} run${ctx.runs > 1 ? 's' : ''}.`,
      '',
      ...table(['job type', ' jobs/s per processor', ' handler alone /s (limit)', ' ratio'], rows),
      '',
      `Limit, interleaved: the job handlers the job-processor's own Nest module graph provides (found by their job type), run in a process of their own on the same objects, ` +
        `${concurrency} at a time, without the claim and settle transactions.`,
      '',
      '### Where every millisecond of a job goes',
      '',
      ...cpuTable(cpuColumns, null, cpus().length),
      '',
      ...processNotes(groups),
      '',
      `Priority: ${fmt(backlog, 0)} priority-10 VALIDATION jobs queued, then ${probes} priority-1 jobs published one every 200 ms while the backlog drains, ${priorityRuns} run${priorityRuns > 1 ? 's' : ''}; ` +
        `wait = claim (started_at) − publish. Backlog still pending when the last urgent job completed: ${backlogLeft.map((b) => fmt(b, 0)).join(', ')}.`,
      '',
      ...table(
        ['priority-1 wait (all runs together)', ' ms'],
        [
          ['p50', fmt(p50, 0)],
          ['p99', fmt(p99, 0)],
          ['max', fmt(Math.max(...all), 0)],
        ],
      ),
    ],
    targets,
    data: { n, backlog, probes, concurrency, byType, waits, backlogLeft },
  };
}

export const jobs: Scenario = { id: 4, key: 'jobs', title: 'jobs', run };
