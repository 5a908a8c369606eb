import { ChildProcess, fork } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { distDir } from '../apps';
import { benchEnv, ROOT, RUN_DIR } from '../env';

export interface CreateLimitRun {
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuSeconds: number;
}

export interface HandlerLimitRun {
  ops: number;
  seconds: number;
  cpuSeconds: number;
}

/**
 * The process running the in-process limits (limits/worker.ts) on the apps' build, with the environment an
 * app of the bench gets (plus `env`). One request at a time over IPC.
 */
export class LimitWorker {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly child: ChildProcess,
    readonly log: string,
  ) {
    child.on('message', (m: { seq: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.seq);
      this.pending.delete(m.seq);
      if (m.error !== undefined) p?.reject(new Error(`in-process limit: ${m.error}`));
      else p?.resolve(m.result);
    });
    child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`the limit worker exited with ${code}; see ${log}`));
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  static start(name: string, env: Record<string, string>): LimitWorker {
    mkdirSync(join(RUN_DIR, 'logs'), { recursive: true });
    const log = join(RUN_DIR, 'logs', `${name}.log`);
    const out = createWriteStream(log);
    const child = fork(join(__dirname, 'worker.ts'), [], {
      execArgv: ['-r', join(ROOT, 'bench/register.js')],
      env: { PATH: process.env.PATH ?? '', ...benchEnv(env), BENCH_DIST: distDir() },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      cwd: RUN_DIR,
    });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    return new LimitWorker(child, log);
  }

  private call<T>(msg: Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...msg, seq });
    });
  }

  initCreate(): Promise<{ pid: number }> {
    return this.call({ op: 'create-init' });
  }

  create(opts: { concurrency: number; seconds: number; body: unknown; userId: string }): Promise<CreateLimitRun> {
    return this.call({ op: 'create', ...opts });
  }

  initHandlers(): Promise<{ pid: number; types: string[] }> {
    return this.call({ op: 'handlers-init' });
  }

  handler(opts: { type: string; objects: { id: string; key: string; size: number }[]; concurrency: number }): Promise<HandlerLimitRun> {
    return this.call({ op: 'handler', ...opts });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await this.call({ op: 'close' }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
