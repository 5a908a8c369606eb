import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { NS, PORT_BASE, ROOT, testEnv } from '../../support/test-env';

/**
 * The fault suite's own RabbitMQ node, Postgres cluster and Ceph RGW (scripts/faults/private-infra.sh), on
 * ports PORT_BASE+10..14 and in a temp dir: the only instances it ever stops or restarts. The machine's
 * shared services are never touched.
 */
export const PRIVATE = {
  name: `faults${NS}`,
  pgPort: PORT_BASE + 10,
  amqpPort: PORT_BASE + 11,
  distPort: PORT_BASE + 12,
  rgwPort: PORT_BASE + 13,
  monPort: PORT_BASE + 14,
};

const scriptEnv = {
  ...process.env,
  FAULTS_NAME: PRIVATE.name,
  FAULTS_PG_PORT: String(PRIVATE.pgPort),
  FAULTS_AMQP_PORT: String(PRIVATE.amqpPort),
  FAULTS_AMQP_DIST_PORT: String(PRIVATE.distPort),
  FAULTS_RGW_PORT: String(PRIVATE.rgwPort),
  FAULTS_MON_PORT: String(PRIVATE.monPort),
};

/** Runs a verb of scripts/faults/private-infra.sh (up, down, rabbit-stop, rabbit-start, pg-stop, pg-start). */
export function infra(verb: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts/faults/private-infra.sh'), verb, ...args], { env: scriptEnv });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').slice(-1)[0] ?? '') : reject(new Error(`private-infra.sh ${verb} failed (${code}):\n${out.slice(-2000)}`)),
    );
  });
}

/** Points every helper (testEnv) at the private instances: vhost '/', database uploads_<ns>, bucket uploads-<ns>. */
export function usePrivateInfra(): void {
  process.env.TEST_DATABASE_URL = `postgres://postgres@127.0.0.1:${PRIVATE.pgPort}/uploads_${NS}`;
  process.env.TEST_AMQP_URL = `amqp://guest:guest@127.0.0.1:${PRIVATE.amqpPort}`;
  process.env.TEST_S3_ENDPOINT = `http://127.0.0.1:${PRIVATE.rgwPort}`;
}

/** Runs a command to its end; its stdout, or an error naming `what` with its output. */
export function run(cmd: string, args: string[], env: Record<string, string | undefined>, what: string): string {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/** Drops and creates the namespace's database (env.DATABASE_URL) on the Postgres at `pgPort`, then migrates it. */
export function freshDatabase(env: Record<string, string>, pgPort: number): void {
  const dbName = new URL(env.DATABASE_URL).pathname.slice(1);
  const psql = ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1'];
  run('psql', [...psql, '-c', `drop database if exists "${dbName}" with (force)`, '-c', `create database "${dbName}"`], {}, 'creating the database');
  run(process.execPath, [join(ROOT, 'dist/libs/database/src/migrate.js')], env, 'migrating (is the build current?)');
}

/** Fresh database (migrated), bucket, exchanges and RGW notification topic for this namespace on the private instances. */
export function provisionNamespace(overrides: Record<string, string> = {}): string {
  freshDatabase(testEnv(overrides), PRIVATE.pgPort);
  return provisionStore(overrides);
}

export function provisionStore(overrides: Record<string, string> = {}): string {
  return run(process.execPath, [join(ROOT, 'scripts/provision-store.mjs')], testEnv(overrides), 'provisioning the store');
}
