/**
 * The in-process limits, in a process of their own (so /proc gives their CPU apart from the load generator):
 * the apps' own Nest module graphs, loaded from the same build the apps run (BENCH_DIST), without HTTP,
 * without a broker consumer. What is measured is whatever the code wires today:
 *  - create: the use case POST /v1/uploads calls (GenerateFileUploadUrlUseCase.execute), with the
 *    gateway's config, quota bookkeeping and all, in a MikroORM request context as the HTTP middleware makes;
 *  - handler: the job handlers the job-processor's module graph provides, run on stored objects.
 * Driven over IPC by limits/client.ts.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MikroORM, RequestContext } from '@mikro-orm/core';

type Request =
  | { op: 'create-init' }
  | { op: 'create'; concurrency: number; seconds: number; body: unknown; userId: string }
  | { op: 'handlers-init' }
  | { op: 'handler'; type: string; objects: { id: string; key: string; size: number }[]; concurrency: number }
  | { op: 'close' };

const DIST = process.env.BENCH_DIST!;
const load = (path: string) => require(join(DIST, path));

let app: INestApplicationContext | null = null;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function context(appDir: string, configFn: string, envClass: string): Promise<INestApplicationContext> {
  const config = load('libs/config/src/index.js');
  const { AppModule } = load(`apps/${appDir}/src/app.module.js`);
  const cfg = config[configFn](config.validateEnv(config[envClass], process.env));
  return NestFactory.createApplicationContext(AppModule.forRoot(cfg), { logger: ['error'], abortOnError: false });
}

/** The gateway's use case behind POST /v1/uploads, `concurrency` callers at once for `seconds`. */
async function create(msg: Extract<Request, { op: 'create' }>) {
  const domain = load('libs/domain/src/index.js');
  const useCase = app!.get(domain.GenerateFileUploadUrlUseCase);
  const orm = app!.get(MikroORM);
  const actor = { userId: msg.userId, isAdmin: false, uploadToken: null };
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + msg.seconds * 1000;
  await Promise.all(
    Array.from({ length: msg.concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await RequestContext.create(orm.em, () => useCase.execute(actor, msg.body));
        latencies.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ops: latencies.length, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Every provider of the module graph that is a job handler (has a job `type` and `run`). */
function handlers(): Map<string, { run(ctx: unknown): Promise<unknown> }> {
  const { JobType } = load('libs/contracts/src/index.js');
  const types = new Set<string>(Object.values(JobType) as string[]);
  const out = new Map<string, { run(ctx: unknown): Promise<unknown> }>();
  // Nest keeps every module's providers in its container; a handler is found by shape, not by a class name.
  const container = (app as unknown as { container: { getModules(): Map<string, { providers: Map<unknown, { instance: unknown }> }> } }).container;
  for (const mod of container.getModules().values()) {
    for (const wrapper of mod.providers.values()) {
      const h = wrapper.instance as { type?: unknown; run?: unknown } | null;
      if (h && typeof h.run === 'function' && typeof h.type === 'string' && types.has(h.type)) out.set(h.type, h as { run(ctx: unknown): Promise<unknown> });
    }
  }
  return out;
}

async function handler(msg: Extract<Request, { op: 'handler' }>) {
  const domain = load('libs/domain/src/index.js');
  const h = handlers().get(msg.type);
  if (!h) throw new Error(`no ${msg.type} handler in the job-processor's module graph`);
  const bucket = process.env.S3_BUCKET!;
  const signal = new AbortController().signal;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: msg.concurrency }, async () => {
      while (next < msg.objects.length) {
        const o = msg.objects[next++];
        const session = new domain.UploadSession({
          id: o.id,
          bucket,
          objectKey: o.key,
          filename: 'job.bin',
          contentType: 'application/octet-stream',
          size: o.size,
          expiresAt: new Date(Date.now() + 86_400_000),
          jobPlan: [],
        });
        const job = new domain.ProcessingJob({ sessionId: o.id, type: msg.type, priority: 5, required: true, maxAttempts: 3 });
        await h.run({ job, session, signal });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ops: msg.objects.length, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function handle(msg: Request): Promise<unknown> {
  switch (msg.op) {
    case 'create-init':
      app = await context('upload-gateway', 'gatewayConfig', 'GatewayEnv');
      return { pid: process.pid };
    case 'create':
      return create(msg);
    case 'handlers-init':
      app = await context('job-processor', 'jobProcessorConfig', 'JobProcessorEnv');
      return { pid: process.pid, types: [...handlers().keys()] };
    case 'handler':
      return handler(msg);
    case 'close':
      await app?.close();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (msg: Request & { seq: number }) => {
  handle(msg).then(
    (result) => process.send!({ seq: msg.seq, result }),
    (e: unknown) => process.send!({ seq: msg.seq, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
