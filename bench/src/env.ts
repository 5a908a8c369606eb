import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectsCommand, HeadBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { gatewayConfig, GatewayEnv, validateEnv } from '@app/config';
import { createS3Client, S3ObjectStorage, S3Settings } from '@app/storage';
import amqp from 'amqplib';
import { JOB_TYPES, jobQueue, Topology } from '@app/contracts';
import { parseEnvFile } from '../../test/support/test-env';

/**
 * The benchmark's own namespace, built like the tests' (test/support/test-env.ts): database uploads_<ns>,
 * vhost uploads-<ns>, bucket uploads-<ns>, ports from BENCH_PORT_BASE. Nothing here touches another namespace.
 */
export const ROOT = join(__dirname, '..', '..');
export const NS = (process.env.BENCH_NAMESPACE ?? 'bench').replace(/[^a-z0-9]/g, '');
export const PORT_BASE = Number(process.env.BENCH_PORT_BASE ?? 4000);
export const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef';
export const PORTS = { gateway: PORT_BASE, storageEvents: PORT_BASE + 1, jobProcessor: PORT_BASE + 2, tus: PORT_BASE + 3, scaleGateway: PORT_BASE + 4 };
/** A bucket without notifications: the store's own limit, measured without our apps hearing of it. */
export const RAW_BUCKET = `uploads-${NS}-raw`;
/** Scenario 5's database: a million sessions (fewer in --quick, in a database of its own), kept between runs. */
export const scaleDatabaseUrl = (quick: boolean) => `postgres://postgres@127.0.0.1:5432/uploads_${NS}_scale${quick ? '_quick' : ''}`;
export const RUN_DIR = join(ROOT, '.bench', NS);

/**
 * Settings forced into every app with --app-env=KEY=VALUE (main.ts fills it): they win over everything,
 * the bench's own settings and a scenario's included (to prove --quick fails on 429s, say).
 */
export const FORCED_APP_ENV: Record<string, string> = {};

/**
 * What the bench changes from .env.example for every app: the settings of a deployment that is being
 * load-tested. Listed in the report. Rate limits are off: the bench is one client making thousands of
 * requests a minute, which the per-caller limits exist to refuse.
 */
export const BENCH_SETTINGS: Record<string, string> = {
  NODE_ENV: 'production',
  RATE_LIMIT_WRITES: '0',
  RATE_LIMIT_REQUESTS: '0',
  ANONYMOUS_UPLOADS: 'true',
  // Production otherwise refuses .env.example's development defaults (issue 16): a load test on one machine means them.
  PRODUCTION_ALLOWED_DEV_DEFAULTS: 'ANONYMOUS_UPLOADS,CORS_ORIGINS,S3_DEV_KEYS,AMQP_GUEST',
  SHUTDOWN_TIMEOUT_SECONDS: '10',
};

/** What every app of the benchmark gets: .env.example's defaults (default jobs included), in our namespace. */
export function benchEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...parseEnvFile(join(ROOT, '.env.example')),
    ...BENCH_SETTINGS,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/uploads_${NS}`,
    AMQP_URL: `amqp://guest:guest@127.0.0.1:5672/uploads-${NS}`,
    S3_BUCKET: `uploads-${NS}`,
    STORAGE_EVENTS_TOPIC: `uploads-${NS}-storage-events`,
    JWT_SECRET,
    GATEWAY_PORT: String(PORTS.gateway),
    STORAGE_EVENTS_PORT: String(PORTS.storageEvents),
    JOB_PROCESSOR_PORT: String(PORTS.jobProcessor),
    ...overrides,
    ...FORCED_APP_ENV,
  };
}

/** The in-process limits' own database (same schema): their writes stay out of the apps' database counters. */
export const limitDatabaseUrl = () => `postgres://postgres@127.0.0.1:5432/uploads_${NS}_limit`;

/** The store settings the apps derive from the same environment (their own validation and mapping). */
export function s3Settings(bucket?: string): S3Settings {
  const s3 = gatewayConfig(validateEnv(GatewayEnv, benchEnv())).s3;
  return bucket ? { ...s3, bucket } : s3;
}

/** An S3 client configured as the apps' (checksums only when required, path style). */
export function s3Client(): S3Client {
  return createS3Client(s3Settings());
}

/** The apps' storage adapter, on the namespace's bucket or another. */
export function storageFor(bucket?: string): S3ObjectStorage {
  return new S3ObjectStorage(s3Settings(bucket));
}

function run(cmd: string, args: string[], env: Record<string, string>, what: string, input?: string): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs SQL (given on stdin: it may be long) and returns the unaligned, tuples-only output. */
export function psql(url: string, sql: string): string {
  return run('psql', [url, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], {}, `psql ${sql.slice(0, 80)}`, sql).trim();
}

/** Recreates and migrates a database (needs the build: the migrations run from dist). */
export function freshDatabase(url: string): void {
  const name = new URL(url).pathname.slice(1);
  run(
    'psql',
    ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `drop database if exists "${name}" with (force)`],
    {},
    'drop database',
  );
  run(process.execPath, [join(ROOT, 'dist/libs/database/src/migrate.js')], { DATABASE_URL: url }, 'migrate');
  enableStatementStats(url);
}

/**
 * pg_stat_statements in a database of the bench (where the server has the library loaded: `npm run infra:up`
 * sees to it). Without it the report says "n/a" for statements; nothing else changes.
 */
export function enableStatementStats(url: string): boolean {
  try {
    psql(url, 'create extension if not exists pg_stat_statements');
    return true;
  } catch {
    return false;
  }
}

/** Empties every table of a bench database (a scenario's leftovers: outbox rows, sessions) but the migrations'. */
export function emptyDatabase(url: string): void {
  const tables = psql(
    url,
    `select string_agg(format('%I', tablename), ', ') from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations'`,
  );
  if (tables) psql(url, `truncate ${tables} cascade`);
}

/** Bucket, exchanges and the RGW notification wiring of the namespace; a fresh database; empty queues. */
export async function provision(): Promise<void> {
  const env = benchEnv();
  run(process.execPath, [join(ROOT, 'scripts/provision-store.mjs')], env, 'provisioning the bench namespace (is `npm run infra:up` done?)');
  const s3 = s3Client();
  await s3.send(new HeadBucketCommand({ Bucket: RAW_BUCKET })).catch(() => s3.send(new CreateBucketCommand({ Bucket: RAW_BUCKET })));
  freshDatabase(env.DATABASE_URL);
  await purgeQueues();
}

export async function purgeQueues(): Promise<void> {
  const conn = await amqp.connect(benchEnv().AMQP_URL);
  const ch = await conn.createChannel();
  for (const q of [Topology.storageNotificationsQueue, Topology.storageNotificationsDeadQueue, Topology.jobsDeadQueue, ...JOB_TYPES.map(jobQueue)]) {
    const probe = await conn.createChannel();
    probe.on('error', () => undefined);
    await probe.checkQueue(q).then(
      () => ch.purgeQueue(q),
      () => undefined,
    );
    await probe.close().catch(() => undefined);
  }
  await conn.close();
}

/** Empties a bucket of the namespace (memstore keeps objects in RAM: a GiB left behind is a GiB of memory). */
export async function emptyBucket(bucket: string, prefix?: string): Promise<number> {
  const s3 = s3Client();
  let removed = 0;
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return removed;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    removed += keys.length;
  }
}

/**
 * Ceph RGW keeps a deleted object's data until its garbage collection runs (hours later by default), and the
 * memstore OSD keeps that data in RAM: a few GiB uploads would fill the machine's memory. Runs the collection
 * now where the local store is ours (`npm run infra:up`'s Ceph); elsewhere (MinIO, AWS) there is nothing to do.
 */
export function collectStoreGarbage(): void {
  const conf = join(benchEnv().CEPH_DIR ?? '/tmp/upload-platform-ceph', 'ceph.conf');
  if (!existsSync(conf)) return;
  spawnSync('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { stdio: 'ignore', timeout: 120_000 });
}
