// Environment for the infra scripts: process.env, then .env, then .env.example
// (the same precedence as scripts/lib/common.sh). Values are taken literally.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function loadProjectEnv(env = process.env) {
  for (const name of ['.env', '.env.example']) {
    const file = join(repoRoot, name);
    if (!existsSync(file)) continue;
    for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
      if (!m) continue;
      let val = m[2];
      const q = /^"(.*)"$/.exec(val) ?? /^'(.*)'$/.exec(val);
      if (q) val = q[1];
      if (env[m[1]] === undefined) env[m[1]] = val;
    }
  }
  return env;
}

export function required(env, name) {
  const v = env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set (see .env.example)`);
  return v;
}

/** Parts of an AMQP URL; vhost decoded, '/' when the URL has no path (RabbitMQ URI spec). */
export function amqpParts(url) {
  const u = new URL(url);
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new Error(`AMQP_URL must be amqp:// or amqps://, got ${url}`);
  const path = u.pathname.replace(/^\//, '');
  return {
    protocol: u.protocol.slice(0, -1),
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port || (u.protocol === 'amqps:' ? '5671' : '5672'),
    user: decodeURIComponent(u.username) || 'guest',
    password: decodeURIComponent(u.password) || 'guest',
    vhost: path === '' ? '/' : decodeURIComponent(path),
  };
}

export function s3ClientConfig(env) {
  return {
    endpoint: required(env, 'S3_ENDPOINT'),
    region: env.S3_REGION || 'us-east-1',
    credentials: { accessKeyId: required(env, 'S3_ACCESS_KEY'), secretAccessKey: required(env, 'S3_SECRET_KEY') },
    forcePathStyle: true,
    // RGW (and MinIO with pre-signed URLs) need these, see docs on the S3 test store
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15000 },
  };
}
