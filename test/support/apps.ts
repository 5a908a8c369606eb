import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './poll';
import { NS, PORT_BASE, ROOT, testEnv } from './test-env';

export type AppName = 'upload-gateway' | 'storage-events' | 'job-processor';

const RUN_DIR = join(ROOT, '.e2e', NS);
let copied = false;

/**
 * Runs the compiled apps (`npm run build` output) as separate processes, from a private copy of dist so
 * a rebuild during the run cannot pull files from under them. Logs go to .e2e/<ns>/logs.
 */
function distCopy(): string {
  if (!copied) {
    if (!existsSync(join(ROOT, 'dist/apps/upload-gateway/src/main.js'))) throw new Error('no build output: run `npm run build` first (npm test does)');
    const r = spawnSync('bash', ['-c', `rm -rf "${RUN_DIR}/dist" && mkdir -p "${RUN_DIR}/logs" && cp -r "${ROOT}/dist" "${RUN_DIR}/dist"`]);
    if (r.status !== 0) throw new Error(`could not copy dist: ${r.stderr}`);
    copied = true;
  }
  return join(RUN_DIR, 'dist');
}

export interface RunningApp {
  name: AppName;
  instance: number;
  port: number;
  process: ChildProcess;
  exited: Promise<number | null>;
}

let instanceCounter = 0;

export async function startApp(
  name: AppName,
  env: Record<string, string> = {},
  opts: { port?: number; waitReady?: boolean; readyTimeoutMs?: number } = {},
): Promise<RunningApp> {
  const dist = distCopy();
  const instance = instanceCounter++;
  const defaultPort = { 'upload-gateway': PORT_BASE, 'storage-events': PORT_BASE + 1, 'job-processor': PORT_BASE + 2 }[name];
  const port = opts.port ?? defaultPort;
  const portVar = { 'upload-gateway': 'GATEWAY_PORT', 'storage-events': 'STORAGE_EVENTS_PORT', 'job-processor': 'JOB_PROCESSOR_PORT' }[name];
  mkdirSync(join(RUN_DIR, 'logs'), { recursive: true });
  const log = createWriteStream(logFileOf({ name, instance }));
  const child = spawn(process.execPath, [join(dist, 'apps', name, 'src', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', ...testEnv(env), [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const app: RunningApp = { name, instance, port, process: child, exited };
  if (opts.waitReady !== false) {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}; see .e2e/${NS}/logs/${name}-${instance}.log`);
        return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status;
      },
      (status) => status === 200,
      // Generous by default: on a loaded 2-core machine loading the modules alone can take half a minute.
      { timeoutMs: opts.readyTimeoutMs ?? 60_000, intervalMs: 200, what: `${name} ready on ${port}` },
    ).catch((e: Error) => {
      child.kill('SIGKILL');
      throw e;
    });
  }
  return app;
}

/** Where a started app's stdout and stderr go (one JSON object per line). */
export function logFileOf(app: Pick<RunningApp, 'name' | 'instance'>): string {
  return join(RUN_DIR, 'logs', `${app.name}-${app.instance}.log`);
}

export async function stopApp(app: RunningApp, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (app.process.exitCode === null) app.process.kill(signal);
  const timer = setTimeout(() => app.process.kill('SIGKILL'), 15_000);
  const code = await app.exited;
  clearTimeout(timer);
  return code;
}

/** The three apps, one instance each. */
export class System {
  constructor(readonly apps: RunningApp[]) {}

  static async start(env: Record<string, string> = {}): Promise<System> {
    const apps = await Promise.all((['upload-gateway', 'storage-events', 'job-processor'] as AppName[]).map((n) => startApp(n, env)));
    return new System(apps);
  }

  async stop(): Promise<void> {
    await Promise.all(this.apps.map((a) => stopApp(a)));
  }
}
