import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { amqpPriorityOf, jobQueue, jobRoutingKey, JobType, RunJobV1, Topology } from '@app/contracts';
import { buildObjectKey, JobHandler, ProcessingJob, UploadSession } from '@app/domain';
import { ChecksumJobHandler } from '../../../libs/domain/src/job/handlers/checksum.job-handler';
import { ValidationJobHandler } from '../../../libs/domain/src/job/handlers/validation.job-handler';
import { RunningProcess, startApp, stopProcess } from '../apps';
import { inParallel } from '../client';
import { benchEnv, psql, s3Client, storageFor } from '../env';
import { BenchContext, pct, Section, table, Target } from '../report';
import { figure, fmt, fmtFigure, percentile } from '../stats';

const SIZE = 4096;

/**
 * Jobs fed straight to the processor: sessions (UPLOADED, objects really in the store) and their job rows
 * inserted with SQL, the RunJobV1 messages published to the jobs exchange as the outbox relay would. The
 * processor consumes real messages and does the real work.
 */
class JobBench {
  private readonly db = benchEnv().DATABASE_URL;
  private sessions: string[] = [];

  async prepareSessions(count: number, log: (m: string) => void): Promise<void> {
    const env = benchEnv();
    const ids = Array.from({ length: count }, () => randomUUID());
    const values = ids.map((id) => `('${id}', '${buildObjectKey(id, 'job.bin').replace(/'/g, "''")}')`).join(',');
    psql(
      this.db,
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

  /** The limit: the handler's own work (its reads from the store, its hashing) in this process, no claim or settle. */
  async handlerOnly(type: JobType, count: number, concurrency: number): Promise<number> {
    const storage = storageFor();
    const handler: JobHandler = type === JobType.CHECKSUM ? new ChecksumJobHandler(storage) : new ValidationJobHandler(storage);
    const sessions = this.sessions.slice(0, count).map(
      (id) =>
        new UploadSession({ id, bucket: storage.bucket, objectKey: buildObjectKey(id, 'job.bin'), filename: 'job.bin', contentType: 'application/octet-stream', size: SIZE, expiresAt: new Date(), jobPlan: [] }),
    );
    const signal = new AbortController().signal;
    const t0 = Date.now();
    await inParallel(sessions, concurrency, async (session) => {
      const job = new ProcessingJob({ sessionId: session.id, type, priority: 5, required: true, maxAttempts: 3 });
      await handler.run({ job, session, signal });
    });
    return (count * 1000) / (Date.now() - t0);
  }

  reset(): void {
    psql(this.db, `delete from processing_job; update upload_session set status = 'UPLOADED' where status <> 'UPLOADED'; delete from outbox_message`);
  }

  /** Inserts jobs for sessions [from, from + count) and publishes their messages. */
  async enqueue(type: JobType, priority: number, from: number, count: number, ch: amqp.ConfirmChannel): Promise<string[]> {
    const ids = this.sessions.slice(from, from + count);
    if (ids.length < count) throw new Error(`only ${ids.length} sessions prepared for ${count} jobs`);
    const rows = psql(
      this.db,
      `insert into processing_job (id, session_id, type, status, priority, required, config, attempts, max_attempts, created_at, updated_at)
       select gen_random_uuid(), s, '${type}', 'PENDING', ${priority}, true, '{}', 0, 3, now(), now() from unnest(array[${ids.map((i) => `'${i}'`).join(',')}]::uuid[]) as s
       returning id || ',' || session_id`,
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(','));
    for (const [jobId, sessionId] of rows) {
      const msg: RunJobV1 = { version: 1, jobId, sessionId, type, correlationId: sessionId };
      ch.publish(Topology.jobsExchange, jobRoutingKey(type), Buffer.from(JSON.stringify(msg)), {
        persistent: true,
        contentType: 'application/json',
        messageId: randomUUID(),
        priority: amqpPriorityOf(priority),
        timestamp: Math.floor(Date.now() / 1000),
      });
    }
    await ch.waitForConfirms();
    return rows.map((r) => r[0]);
  }

  finishedCount(): number {
    return Number(psql(this.db, `select count(*) from processing_job where status in ('COMPLETED', 'FAILED', 'CANCELLED')`));
  }

  async waitFinished(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.finishedCount() < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.finishedCount()} of ${n} jobs finished after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const failed = Number(psql(this.db, `select count(*) from processing_job where status <> 'COMPLETED'`));
    if (failed > 0) throw new Error(`${failed} jobs did not complete: ${psql(this.db, `select type, status, error from processing_job where status <> 'COMPLETED' limit 3`)}`);
  }

  /** Jobs per second over the processing window (first claim to last finish, in the processor's clock). */
  rate(): number {
    const [n, seconds] = psql(this.db, `select count(*), extract(epoch from max(finished_at) - min(started_at)) from processing_job`).split('|').map(Number);
    return n / seconds;
  }
}

async function confirmChannel(): Promise<{ ch: amqp.ConfirmChannel; close: () => Promise<void> }> {
  const conn = await amqp.connect(benchEnv().AMQP_URL);
  const ch = await conn.createConfirmChannel();
  return { ch, close: () => conn.close().catch(() => undefined) };
}

async function purge(queue: string): Promise<void> {
  const conn = await amqp.connect(benchEnv().AMQP_URL);
  const ch = await conn.createChannel();
  await ch.purgeQueue(queue);
  await conn.close();
}

export async function jobs(ctx: BenchContext): Promise<Section> {
  const n = ctx.quick ? 60 : 300;
  const backlog = ctx.quick ? 300 : 10_000;
  const probes = ctx.quick ? 3 : 20;
  const warmup = ctx.quick ? 10 : 50;
  const bench = new JobBench();
  const db = benchEnv().DATABASE_URL;
  await bench.prepareSessions(Math.max(n, backlog) + probes, ctx.log);

  const concurrency = Number(benchEnv().JOB_CONCURRENCY);
  let processor: RunningProcess | null = await startApp('job-processor');
  const { ch, close } = await confirmChannel();
  const rates: Record<string, number[]> = { VALIDATION: [], CHECKSUM: [] };
  const bare: Record<string, number[]> = { VALIDATION: [], CHECKSUM: [] };
  const waits: number[][] = [];
  const backlogLeft: number[] = [];
  try {
    for (const type of [JobType.VALIDATION, JobType.CHECKSUM]) {
      bench.reset();
      await bench.enqueue(type, 5, 0, warmup, ch); // warm-up
      await bench.waitFinished(warmup, 60_000);
      for (let i = 0; i < ctx.runs; i++) {
        bench.reset();
        await bench.enqueue(type, 5, 0, n, ch);
        await bench.waitFinished(n, 60_000 + n * 100);
        rates[type].push(bench.rate());
        bare[type].push(await bench.handlerOnly(type, n, concurrency));
        ctx.log(`  ${type}: ${fmt(rates[type].at(-1)!)} jobs/s, handler alone ${fmt(bare[type].at(-1)!)} /s`);
      }
    }

    for (let i = 0; i < ctx.runs; i++) {
      bench.reset();
      await bench.enqueue(JobType.VALIDATION, 10, 0, backlog, ch);
      // Let the processor get going on the backlog, then add urgent jobs one at a time.
      while (bench.finishedCount() < Math.min(20, backlog / 10)) await new Promise((r) => setTimeout(r, 100));
      const published: { jobId: string; at: number }[] = [];
      for (let k = 0; k < probes; k++) {
        const at = Date.now();
        const [jobId] = await bench.enqueue(JobType.VALIDATION, 1, backlog + k, 1, ch);
        published.push({ jobId, at });
        await new Promise((r) => setTimeout(r, 200));
      }
      const ids = published.map((p) => `'${p.jobId}'`).join(',');
      const deadline = Date.now() + 60_000;
      while (Number(psql(db, `select count(*) from processing_job where id in (${ids}) and status = 'COMPLETED'`)) < probes) {
        if (Date.now() > deadline) throw new Error('priority-1 jobs did not complete within 60 s behind the backlog');
        await new Promise((r) => setTimeout(r, 100));
      }
      backlogLeft.push(Number(psql(db, `select count(*) from processing_job where priority = 10 and status = 'PENDING'`)));
      const started = new Map(
        psql(db, `select id, (extract(epoch from started_at) * 1000)::bigint from processing_job where id in (${ids})`)
          .split('\n')
          .map((l) => l.split('|'))
          .map(([id, ms]) => [id, Number(ms)] as const),
      );
      waits.push(published.map((p) => started.get(p.jobId)! - p.at));
      ctx.log(`  priority-1 wait behind ${backlog}: p50 ${fmt(percentile(waits.at(-1)!, 50), 0)} ms, max ${fmt(Math.max(...waits.at(-1)!), 0)} ms; backlog left ${backlogLeft.at(-1)}`);
      // Drop the rest of the backlog: purge, let the messages in flight finish.
      await purge(jobQueue(JobType.VALIDATION));
      const quiet = Date.now() + 30_000;
      while (Number(psql(db, `select count(*) from processing_job where status = 'RUNNING'`)) > 0 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 100));
    }
    if (processor.child.exitCode !== null) throw new Error(`job-processor exited; see ${processor.log}`);
  } finally {
    await close();
    if (processor) await stopProcess(processor);
    processor = null;
    bench.reset();
  }

  const validation = figure(rates.VALIDATION);
  const checksum = figure(rates.CHECKSUM);
  const p50 = figure(waits.map((w) => percentile(w, 50)));
  const max = figure(waits.map((w) => Math.max(...w)));
  const worst = Math.max(...waits.flat());
  const targets: Target[] = [
    {
      name: `Priority-1 wait behind ${fmt(backlog, 0)} priority-10 jobs`,
      target: '< 1 s',
      actual: `p50 ${fmt(p50.median, 0)} ms, worst ${fmt(worst, 0)} ms`,
      met: worst < 1000,
      note: worst < 1000 ? undefined : `missed by ${fmt(worst - 1000, 0)} ms at worst`,
    },
  ];
  return {
    id: 4,
    title: 'Jobs',
    lines: [
      `One job-processor (JOB_CONCURRENCY=${concurrency}, all job types). Jobs on 4 KiB files that are really in the store; rows inserted with SQL, ` +
        `RunJobV1 messages published to the jobs exchange exactly as the outbox relay does; the processor claims, runs and settles each one. ` +
        `jobs/s = jobs / (last finish − first claim), ${n} jobs per run.`,
      '',
      ...table(['job type', ' jobs/s per processor', ' handler alone /s (limit)', ' ratio'], [
        ['VALIDATION', fmtFigure(validation), fmtFigure(figure(bare.VALIDATION)), pct(validation.median / figure(bare.VALIDATION).median)],
        ['CHECKSUM (SHA-256 + MD5 streamed)', fmtFigure(checksum), fmtFigure(figure(bare.CHECKSUM)), pct(checksum.median / figure(bare.CHECKSUM).median)],
      ]),
      '',
      `Limit: the same handler classes run in the benchmark process on the same objects, ${concurrency} at a time, without the claim and settle transactions.`,
      '',
      `Priority: ${fmt(backlog, 0)} priority-10 VALIDATION jobs queued, then ${probes} priority-1 jobs published one every 200 ms while the backlog drains; ` +
        `wait = claim (started_at) − publish. Backlog still pending when the last urgent job completed: ${backlogLeft.map((b) => fmt(b, 0)).join(', ')}.`,
      '',
      ...table(['priority-1 wait', ' ms'], [
        ['p50 (per run, median and spread)', fmtFigure(p50, 0)],
        ['max (per run, median and spread)', fmtFigure(max, 0)],
      ]),
    ],
    targets,
    data: { n, backlog, probes, concurrency, rates, bare, waits, backlogLeft },
  };
}
