import { gatewayConfig, storageEventsConfig } from './config';
import { GatewayEnv, StorageEventsEnv, validateEnv } from './env';

const base = {
  DATABASE_URL: 'postgres://x@h/db',
  AMQP_URL: 'amqp://app:pw@h',
  S3_ENDPOINT: 'http://h:1',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'bucket',
};
const storageEvents = (env: Record<string, string>) => storageEventsConfig(validateEnv(StorageEventsEnv, { ...base, ...env }));
const gateway = (env: Record<string, string>) => gatewayConfig(validateEnv(GatewayEnv, { ...base, ANONYMOUS_UPLOADS: 'true', ...env }));

describe('webhook settings', () => {
  it('defaults: deliveries on, 10 s timeouts, 5 s … 10 h retries, 4 per endpoint, disabled after 5 days of failures', () => {
    const c = storageEvents({});
    expect(c.webhooks).toMatchObject({ delivery: 'on', timeoutMs: 10_000, endpointConcurrency: 4, concurrency: 32, disableAfterMs: 5 * 86_400_000 });
    expect(c.webhooks.retryScheduleMs).toEqual([5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000]);
    expect(c.webhooks.leaseMs).toBeGreaterThan(c.webhooks.timeoutMs);
    expect(c.webhookTargets).toEqual({ allowPrivate: false, requireHttps: false });
  });

  it('https is required in production unless said otherwise', () => {
    expect(storageEvents({ NODE_ENV: 'production' }).webhookTargets.requireHttps).toBe(true);
    expect(storageEvents({ NODE_ENV: 'production', WEBHOOK_REQUIRE_HTTPS: 'false' }).webhookTargets.requireHttps).toBe(false);
    expect(gateway({ NODE_ENV: 'production', ANONYMOUS_UPLOADS: 'false', JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' }).webhookTargets.requireHttps).toBe(
      true,
    );
  });

  it('a delivery-only process runs no reconciler', () => {
    expect(storageEvents({ WEBHOOK_DELIVERY: 'only' }).reconciler.intervalMs).toBe(0);
    expect(storageEvents({ WEBHOOK_DELIVERY: 'off' }).reconciler.intervalMs).toBe(30_000);
  });

  it('reads a short schedule for tests', () => {
    expect(storageEvents({ WEBHOOK_RETRY_SCHEDULE: '200ms, 1s,1m' }).webhooks.retryScheduleMs).toEqual([200, 1_000, 60_000]);
  });

  it.each([
    ['WEBHOOK_RETRY_SCHEDULE', '5 seconds'],
    ['WEBHOOK_RETRY_SCHEDULE', '5s,,5m'],
    ['WEBHOOK_DELIVERY', 'maybe'],
    ['WEBHOOK_TIMEOUT_SECONDS', '0'],
    ['WEBHOOK_ENDPOINT_CONCURRENCY', '1.5'],
    ['WEBHOOK_ALLOW_PRIVATE_TARGETS', 'perhaps'],
    ['WEBHOOK_DISABLE_AFTER_SECONDS', '-1'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(() => storageEvents({ [name]: value })).toThrow(name);
  });

  it('refuses a bad rotation grace naming it', () => {
    expect(() => gateway({ WEBHOOK_SECRET_ROTATION_GRACE_SECONDS: 'a day' })).toThrow('WEBHOOK_SECRET_ROTATION_GRACE_SECONDS');
    expect(gateway({}).webhooks.secretRotationGraceMs).toBe(86_400_000);
  });
});
