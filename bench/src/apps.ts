import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { benchEnv, PORTS, ROOT, RUN_DIR } from './env';
import { BenchFailure } from './report';

export type AppName = 'upload-gateway' | 'storage-events' | 'job-processor';

export interface RunningProcess {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  log: string;
}

let copiedDist: string | null = null;
let counter = 0;

/** The apps run from a private copy of dist (as the e2e harness does), so a rebuild cannot pull files from under them. */
export function distDir(): string {
  if (!copiedDist) {
    if (!existsSync(join(ROOT, 'dist/apps/upload-gateway/src/main.js'))) throw new Error('no build output: run `npm run build` first (npm run bench does)');
    const r = spawnSync('bash', ['-c', `rm -rf "${RUN_DIR}/dist" && mkdir -p "${RUN_DIR}/logs" && cp -r "${ROOT}/dist" "${RUN_DIR}/dist"`]);
    if (r.status !== 0) throw new Error(`could not copy dist: ${r.stderr}`);
    copiedDist = join(RUN_DIR, 'dist');
  }
  return copiedDist;
}

async function waitReady(p: RunningProcess, path: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}; see ${p.log}`);
    const status = await fetch(`http://127.0.0.1:${p.port}${path}`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  p.child.kill('SIGKILL');
  throw new Error(`${p.name} not ready on ${p.port} after ${timeoutMs} ms; see ${p.log}`);
}

/** Starts a node process with its output in .bench/<ns>/logs, and waits for `readyPath` to answer 200. */
export async function startNode(
  name: string,
  script: string,
  opts: { env: Record<string, string>; port: number; nodeArgs?: string[]; readyPath?: string },
): Promise<RunningProcess> {
  mkdirSync(join(RUN_DIR, 'logs'), { recursive: true });
  const log = join(RUN_DIR, 'logs', `${name}-${counter++}.log`);
  const out = createWriteStream(log);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), script], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: RUN_DIR,
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p: RunningProcess = { name, port: opts.port, pid: child.pid!, child, exited, log };
  await waitReady(p, opts.readyPath ?? '/health/ready');
  return p;
}

const DEFAULT_PORT: Record<AppName, number> = { 'upload-gateway': PORTS.gateway, 'storage-events': PORTS.storageEvents, 'job-processor': PORTS.jobProcessor };
const PORT_VAR: Record<AppName, string> = { 'upload-gateway': 'GATEWAY_PORT', 'storage-events': 'STORAGE_EVENTS_PORT', 'job-processor': 'JOB_PROCESSOR_PORT' };

export function startApp(name: AppName, opts: { env?: Record<string, string>; port?: number; nodeArgs?: string[] } = {}): Promise<RunningProcess> {
  const port = opts.port ?? DEFAULT_PORT[name];
  return startNode(name, join(distDir(), 'apps', name, 'src', 'main.js'), {
    env: benchEnv({ ...opts.env, [PORT_VAR[name]]: String(port) }),
    port,
    nodeArgs: opts.nodeArgs,
  });
}

export const isRunning = (p: RunningProcess) => p.child.exitCode === null && p.child.signalCode === null;

export async function stopProcess(p: RunningProcess): Promise<void> {
  if (!isRunning(p)) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

/** The three apps, one instance each. */
export class System {
  private constructor(readonly apps: RunningProcess[]) {}

  static async start(opts: { env?: Record<string, string>; nodeArgs?: Partial<Record<AppName, string[]>> } = {}): Promise<System> {
    const names: AppName[] = ['upload-gateway', 'storage-events', 'job-processor'];
    return new System(await Promise.all(names.map((n) => startApp(n, { env: opts.env, nodeArgs: opts.nodeArgs?.[n] }))));
  }

  get pids(): Record<string, number> {
    return Object.fromEntries(this.apps.map((a) => [a.name, a.pid]));
  }

  /** Fails the scenario if an app died under load. */
  assertAlive(): void {
    for (const a of this.apps)
      if (!isRunning(a)) throw new BenchFailure(`${a.name} exited (${a.child.exitCode ?? a.child.signalCode}) during the scenario; see ${a.log}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.apps.map(stopProcess));
  }
}
