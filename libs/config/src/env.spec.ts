import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const c = load({ NODE_ENV: 'production', AMQP_URL: 'amqp://uploads:pw@127.0.0.1:5672', JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' });
    expect(c.uploads.anonymousUploads).toBe(false);
    expect(c.http.corsOrigins).toEqual([]);
    expect(c.uploads.userQuotaBytes).toBe(0);
    expect(c.http.rateLimit).toEqual({ writes: 120, requests: 1200, windowSeconds: 60, syncMs: 1000 });
    expect(c.http.trustedProxies).toBe(0);
    expect(c.uploads.presignedUrlTtlSeconds).toBe(900);
  });

  const STRONG = 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA';
  const JWKS = { JWKS_URL: 'https://id.example/jwks.json', JWT_ISSUER: 'https://id.example/', JWT_AUDIENCE: 'uploads-api' };

  it('without anonymous uploads a secret or JWKS URL is required', () => {
    expect(() => load({})).toThrow(/JWT_SECRET or JWKS_URL is required/);
    expect(() => load({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET must be at least 32 bytes/);
    expect(load(JWKS).auth.jwksUrl).toBe('https://id.example/jwks.json');
  });

  // Issue 16, HIGH 2: the length check used to be switched off with the presence check (JWKS_URL set, or
  // anonymous uploads on), so REPLACE_ME from k8s/secret.yaml signed admin tokens.
  it.each<[string, Record<string, string>]>([
    ['with anonymous uploads on', { ANONYMOUS_UPLOADS: 'true' }],
    ['with a JWKS URL', JWKS],
    ['with neither', {}],
  ])('validates any JWT_SECRET given, %s', (_, env) => {
    for (const weak of [
      'REPLACE_ME',
      'short-secret',
      'REPLACE_ME-REPLACE_ME-REPLACE_ME-REPLACE_ME',
      'changeme-0123456789abcdefghijklmnopq',
      'a'.repeat(64),
      '01010101010101010101010101010101',
      'your-jwt-secret-goes-here-0123456789',
    ]) {
      expect(() => load({ ...env, JWT_SECRET: weak })).toThrow(/JWT_SECRET (must be at least 32 bytes|is a placeholder|has too few distinct characters)/);
    }
    expect(load({ ...env, JWT_SECRET: STRONG }).auth).toBeDefined();
  });

  it('k8s/secret.yaml ships no JWT_SECRET that starts a gateway', () => {
    const shipped = /^\s*JWT_SECRET:\s*"?([^"\n]*)"?\s*$/m.exec(readFileSync(join(__dirname, '../../../k8s/secret.yaml'), 'utf8'))?.[1] ?? '';
    if (shipped !== '') expect(() => load({ ...JWKS, JWT_SECRET: shipped })).toThrow(/JWT_SECRET/);
  });

  it('with a JWKS URL: iss and aud required, HS256 refused unless JWT_ALLOW_HS256_WITH_JWKS', () => {
    expect(() => load({ JWKS_URL: JWKS.JWKS_URL })).toThrow(/JWT_ISSUER is required with JWKS_URL[\s\S]*JWT_AUDIENCE is required with JWKS_URL/);
    expect(() => load({ JWKS_URL: JWKS.JWKS_URL, JWT_ISSUER: JWKS.JWT_ISSUER })).toThrow(/JWT_AUDIENCE/);
    expect(load({ ...JWKS, JWT_SECRET: STRONG }).auth.jwtSecret).toBeUndefined();
    expect(load({ ...JWKS, JWT_SECRET: STRONG, JWT_ALLOW_HS256_WITH_JWKS: 'true' }).auth.jwtSecret).toBe(STRONG);
    // The secret still keys the stream tickets.
    expect(load({ ...JWKS, JWT_SECRET: STRONG }).live.ticketSecret).toEqual(expect.any(String));
    expect(load({ JWT_SECRET: STRONG }).auth.jwtSecret).toBe(STRONG);
  });

  it('token lifetime and the admin claim: defaults, settings, refusals', () => {
    expect(load({ JWT_SECRET: STRONG }).auth).toMatchObject({ maxTokenAgeSeconds: 86400, adminClaim: 'upload_platform_roles', adminRole: 'admin' });
    expect(
      load({ JWT_SECRET: STRONG, JWT_MAX_AGE_SECONDS: '3600', JWT_ADMIN_CLAIM: 'https://uploads.example/roles', JWT_ADMIN_ROLE: 'uploads-admin' }).auth,
    ).toMatchObject({
      maxTokenAgeSeconds: 3600,
      adminClaim: 'https://uploads.example/roles',
      adminRole: 'uploads-admin',
    });
    expect(() => load({ JWT_SECRET: STRONG, JWT_MAX_AGE_SECONDS: '0' })).toThrow('JWT_MAX_AGE_SECONDS');
    expect(() => load({ JWT_SECRET: STRONG, JWT_ADMIN_CLAIM: 'has space' })).toThrow('JWT_ADMIN_CLAIM');
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
    const c = load({ JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' });
    expect(c.uploads).toMatchObject({ groupExpirySeconds: 86400, maxGroupExpirySeconds: 604800 });
    expect(() => load({ JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA', GROUP_EXPIRY_SECONDS: '30' })).toThrow(/GROUP_EXPIRY_SECONDS/);
    expect(() => load({ JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA', GROUP_EXPIRY_SECONDS: '7200', GROUP_MAX_EXPIRY_SECONDS: '3600' })).toThrow(
      /must not exceed GROUP_MAX_EXPIRY_SECONDS/,
    );
  });
});

describe('production refuses development defaults (issue 16)', () => {
  const SECRET = 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA';
  const dev = {
    NODE_ENV: 'production',
    JWT_SECRET: SECRET,
    ANONYMOUS_UPLOADS: 'true',
    CORS_ORIGINS: '*',
    S3_ACCESS_KEY: 'uploads-dev-access-key',
    S3_SECRET_KEY: 'uploads-dev-secret-key-0000000000000000',
    AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  };
  const refusal = (env: Record<string, string>): string => {
    try {
      load(env);
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  };

  it('one error naming each: anonymous uploads, CORS *, the dev S3 keys, the guest broker user', () => {
    const message = refusal(dev);
    expect(message.split('\n')).toEqual([
      'Invalid configuration:',
      expect.stringMatching(/^ {2}ANONYMOUS_UPLOADS: is true: .* PRODUCTION_ALLOWED_DEV_DEFAULTS=ANONYMOUS_UPLOADS/),
      expect.stringMatching(/^ {2}CORS_ORIGINS: is \*: .* PRODUCTION_ALLOWED_DEV_DEFAULTS=CORS_ORIGINS/),
      expect.stringMatching(/^ {2}S3_ACCESS_KEY, S3_SECRET_KEY: is a development or placeholder key.* PRODUCTION_ALLOWED_DEV_DEFAULTS=S3_DEV_KEYS/),
      expect.stringMatching(/^ {2}AMQP_URL: uses RabbitMQ's guest user.* PRODUCTION_ALLOWED_DEV_DEFAULTS=AMQP_GUEST/),
    ]);
  });

  it('no user in the broker URL is guest; placeholders and MinIO defaults are dev keys; a CORS list with * is *', () => {
    expect(
      refusal({
        ...dev,
        ANONYMOUS_UPLOADS: 'false',
        CORS_ORIGINS: '',
        S3_ACCESS_KEY: 'AKIA0REAL0KEY',
        S3_SECRET_KEY: 'r3al-s3cret-k3y-from-the-store-x',
        AMQP_URL: 'amqp://127.0.0.1',
      }),
    ).toMatch(/AMQP_URL: uses RabbitMQ's guest user/);
    expect(refusal({ ...dev, S3_ACCESS_KEY: 'REPLACE_ME', S3_SECRET_KEY: 'minioadmin' })).toMatch(/S3_ACCESS_KEY, S3_SECRET_KEY: is a development/);
    expect(refusal({ ...dev, CORS_ORIGINS: 'https://a.example, *' })).toMatch(/CORS_ORIGINS: is \*/);
  });

  it('each is let through only by its own confirmation; outside production none is refused', () => {
    const confirmedAll = { ...dev, PRODUCTION_ALLOWED_DEV_DEFAULTS: 'ANONYMOUS_UPLOADS, CORS_ORIGINS,S3_DEV_KEYS,AMQP_GUEST' };
    expect(load(confirmedAll).uploads.anonymousUploads).toBe(true);
    const partly = refusal({ ...dev, PRODUCTION_ALLOWED_DEV_DEFAULTS: 'ANONYMOUS_UPLOADS,AMQP_GUEST' });
    expect(partly).not.toMatch(/ANONYMOUS_UPLOADS:|AMQP_URL:/);
    expect(partly).toMatch(/CORS_ORIGINS:[^\n]*\n {2}S3_ACCESS_KEY, S3_SECRET_KEY:/);
    expect(refusal({ ...dev, PRODUCTION_ALLOWED_DEV_DEFAULTS: 'EVERYTHING' })).toMatch(/PRODUCTION_ALLOWED_DEV_DEFAULTS must be a comma-separated list/);
    expect(refusal({ ...dev, NODE_ENV: 'development' })).toBe('');
    expect(refusal({ ...dev, NODE_ENV: 'test' })).toBe('');
  });

  it(".env.example's development settings are refused as they are in production, and accepted in development", () => {
    const example = Object.fromEntries(
      readFileSync(join(__dirname, '..', '..', '..', '.env.example'), 'utf8')
        .split('\n')
        .filter((l) => /^[A-Z0-9_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(refusal({ ...example, JWT_SECRET: SECRET })).toBe('');
    expect(refusal({ ...example, JWT_SECRET: SECRET, NODE_ENV: 'production' }).split('\n')).toHaveLength(5);
  });
});
