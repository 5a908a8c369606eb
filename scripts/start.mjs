#!/usr/bin/env node
// `npm start`: migrate, then run the three apps in the foreground; Ctrl-C (or SIGTERM) stops them all.
// Settings: .env.example's defaults, overridden by .env, overridden by the real environment.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseEnvFile(file) {
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

const env = { ...parseEnvFile(join(root, '.env.example')), ...parseEnvFile(join(root, '.env')), ...process.env };

const migrate = spawnSync(process.execPath, [join(root, 'dist/libs/database/src/migrate.js')], { env, stdio: 'inherit' });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const apps = ['upload-gateway', 'storage-events', 'job-processor'];
const children = apps.map((app) => {
  const child = spawn(process.execPath, [join(root, `dist/apps/${app}/src/main.js`)], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    console.error(`[start] ${app} exited (${signal ?? code})`);
    if (!stopping) stop(code ?? 1);
  });
  return child;
});
console.error(`[start] running ${apps.join(', ')}; gateway on http://127.0.0.1:${env.GATEWAY_PORT ?? 3000}`);

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  const deadline = setTimeout(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  }, 30_000);
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => {
    clearTimeout(deadline);
    process.exit(code);
  });
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
