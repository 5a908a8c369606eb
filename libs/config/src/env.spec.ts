import { gatewayConfig } from './config';
import { GatewayEnv, validateEnv } from './env';

const required = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x',
  AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  S3_ENDPOINT: 'http://127.0.0.1:7480',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'uploads',
};
const load = (env: Record<string, string>) => gatewayConfig(validateEnv(GatewayEnv, { ...required, ...env }));

describe('gateway security settings', () => {
  it('production defaults: no anonymous uploads, no CORS, unlimited quota, rate limits on, socket address trusted', () => {
    const c = load({ NODE_ENV: 'production', JWT_SECRET: 'a-long-enough-secret' });
    expect(c.auth.anonymousUploads).toBe(false);
    expect(c.http.corsOrigins).toEqual([]);
    expect(c.uploads.userQuotaBytes).toBe(0);
    expect(c.http.rateLimit).toEqual({ writes: 120, requests: 1200, windowSeconds: 60, syncMs: 1000 });
    expect(c.http.trustedProxies).toBe(0);
    expect(c.uploads.presignedUrlTtlSeconds).toBe(900);
  });

  it('without anonymous uploads a secret or JWKS URL is required', () => {
    expect(() => load({})).toThrow(/JWT_SECRET or JWKS_URL is required/);
    expect(() => load({ JWT_SECRET: 'short' })).toThrow(/at least 16 characters/);
    expect(load({ JWKS_URL: 'https://id.example/jwks.json' }).auth.jwksUrl).toBe('https://id.example/jwks.json');
  });

  it.each([
    ['USER_QUOTA_BYTES', '-1'],
    ['USER_QUOTA_BYTES', '10MB'],
    ['RATE_LIMIT_WRITES', '1.5'],
    ['RATE_LIMIT_WINDOW_SECONDS', '0'],
    ['RATE_LIMIT_SYNC_MS', '50'],
    ['RATE_LIMIT_SYNC_MS', '-1'],
    ['RATE_LIMIT_SYNC_MS', 'often'],
    ['CORS_ORIGINS', 'example.com'],
    ['HTTP_BODY_LIMIT', 'lots'],
    ['PRESIGNED_URL_TTL_SECONDS', '999999999'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(() => load({ ANONYMOUS_UPLOADS: 'true', [name]: value })).toThrow(name);
  });

  it('reads quota, CORS origins and limits', () => {
    const c = load({ ANONYMOUS_UPLOADS: 'true', USER_QUOTA_BYTES: '10485760', CORS_ORIGINS: 'https://a.example, https://b.example', RATE_LIMIT_WRITES: '0' });
    expect(c.uploads.userQuotaBytes).toBe(10485760);
    expect(c.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(c.http.rateLimit.writes).toBe(0);
    expect(load({ ANONYMOUS_UPLOADS: 'true', RATE_LIMIT_SYNC_MS: '0' }).http.rateLimit.syncMs).toBe(0);
  });
});

describe('group expiry settings', () => {
  it('a day by default, at most a week asked for; the default may not exceed the maximum', () => {
    const c = load({ JWT_SECRET: 'a-long-enough-secret' });
    expect(c.uploads).toMatchObject({ groupExpirySeconds: 86400, maxGroupExpirySeconds: 604800 });
    expect(() => load({ JWT_SECRET: 'a-long-enough-secret', GROUP_EXPIRY_SECONDS: '30' })).toThrow(/GROUP_EXPIRY_SECONDS/);
    expect(() => load({ JWT_SECRET: 'a-long-enough-secret', GROUP_EXPIRY_SECONDS: '7200', GROUP_MAX_EXPIRY_SECONDS: '3600' })).toThrow(/must not exceed GROUP_MAX_EXPIRY_SECONDS/);
  });
});
