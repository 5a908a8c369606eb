import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Tests run in their own namespace, apart from what `npm start` uses: database uploads_<ns>, RabbitMQ vhost
 * uploads-<ns>, bucket uploads-<ns>, and their own ports. TEST_NAMESPACE lets two checkouts test at once.
 */
export const ROOT = join(__dirname, '..', '..');
export const NS = (process.env.TEST_NAMESPACE ?? 'test').replace(/[^a-z0-9]/g, '');
export const PORT_BASE = Number(process.env.TEST_PORT_BASE ?? 3100);
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef';

/** KEY=value lines of an env file (none when it is missing). */
export function parseEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/**
 * The environment every test process and app of this namespace gets. The fault suite points it at its
 * private instances with TEST_DATABASE_URL, TEST_AMQP_URL and TEST_S3_ENDPOINT.
 */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const defaults = parseEnvFile(join(ROOT, '.env.example'));
  return {
    ...defaults,
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: process.env.TEST_DATABASE_URL ?? `postgres://postgres@127.0.0.1:5432/uploads_${NS}`,
    AMQP_URL: process.env.TEST_AMQP_URL ?? `amqp://guest:guest@127.0.0.1:5672/uploads-${NS}`,
    ...(process.env.TEST_S3_ENDPOINT ? { S3_ENDPOINT: process.env.TEST_S3_ENDPOINT, S3_PUBLIC_ENDPOINT: process.env.TEST_S3_ENDPOINT } : {}),
    S3_BUCKET: `uploads-${NS}`,
    STORAGE_EVENTS_TOPIC: `uploads-${NS}-storage-events`,
    ANONYMOUS_UPLOADS: 'true',
    JWT_SECRET,
    GATEWAY_PORT: String(PORT_BASE),
    STORAGE_EVENTS_PORT: String(PORT_BASE + 1),
    JOB_PROCESSOR_PORT: String(PORT_BASE + 2),
    SHUTDOWN_TIMEOUT_SECONDS: '10',
    // Tests name the jobs they want; the developer defaults of .env.example plan more than VALIDATION.
    DEFAULT_JOBS: '*/*=VALIDATION',
    // Tests make many requests from one address; the rate-limit tests turn limits on explicitly.
    RATE_LIMIT_WRITES: '0',
    RATE_LIMIT_REQUESTS: '0',
    ...overrides,
  };
}

export const GATEWAY_URL = `http://127.0.0.1:${PORT_BASE}`;

/** The namespace's S3 settings (the shape libs/storage takes), for tests that look into the store directly. */
export function testS3Settings() {
  const env = testEnv();
  return {
    endpoint: env.S3_ENDPOINT,
    publicEndpoint: env.S3_ENDPOINT,
    region: env.S3_REGION,
    accessKeyId: env.S3_ACCESS_KEY,
    secretAccessKey: env.S3_SECRET_KEY,
    bucket: env.S3_BUCKET,
    forcePathStyle: true,
  };
}
