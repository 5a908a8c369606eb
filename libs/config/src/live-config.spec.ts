import { gatewayConfig } from './config';
import { GatewayEnv, validateEnv } from './env';

const base = {
  DATABASE_URL: 'postgres://x@h/db',
  AMQP_URL: 'amqp://app:pw@h',
  S3_ENDPOINT: 'http://h:1',
  S3_ACCESS_KEY: 'a',
  S3_SECRET_KEY: 'b',
  S3_BUCKET: 'bucket',
};
const gateway = (env: Record<string, string>) => gatewayConfig(validateEnv(GatewayEnv, { ...base, ANONYMOUS_UPLOADS: 'true', ...env }));

describe('live stream settings', () => {
  it('defaults: 60 s tickets, 2000 streams per replica, 16 per caller, heartbeats every 15 s, 256 KiB for a slow reader', () => {
    expect(gateway({}).live).toEqual({
      ticketSecret: null,
      ticketTtlMs: 60_000,
      maxStreams: 2000,
      maxStreamsPerCaller: 16,
      heartbeatMs: 15_000,
      maxBufferedBytes: 262_144,
    });
  });

  it('the ticket key is SSE_TICKET_SECRET, else derived from JWT_SECRET (the same on every replica, never JWT_SECRET itself)', () => {
    expect(gateway({ SSE_TICKET_SECRET: 'a-stream-ticket-key-0123456789' }).live.ticketSecret).toBe('a-stream-ticket-key-0123456789');
    const derived = gateway({ JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' }).live.ticketSecret;
    expect(derived).toEqual(expect.any(String));
    expect(derived).not.toContain('k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA');
    expect(gateway({ JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' }).live.ticketSecret).toBe(derived);
    expect(gateway({ JWT_SECRET: 'Rm5tY8-Pq1Wz4Xc7Vb0Nn3Lk6Jh9Gf2D' }).live.ticketSecret).not.toBe(derived);
  });

  it('production needs a shared ticket key: SSE_TICKET_SECRET, or JWT_SECRET to derive it from', () => {
    expect(() => gateway({ NODE_ENV: 'production', ANONYMOUS_UPLOADS: 'false', JWKS_URL: 'https://idp.example.com/jwks' })).toThrow('SSE_TICKET_SECRET');
    expect(
      gateway({
        NODE_ENV: 'production',
        ANONYMOUS_UPLOADS: 'false',
        JWKS_URL: 'https://idp.example.com/jwks',
        JWT_ISSUER: 'https://idp.example.com/',
        JWT_AUDIENCE: 'uploads',
        SSE_TICKET_SECRET: 'a-stream-ticket-key-0123456789',
      }).live.ticketSecret,
    ).toBeTruthy();
    expect(gateway({ NODE_ENV: 'production', ANONYMOUS_UPLOADS: 'false', JWT_SECRET: 'k3Qv9-Zx2Lr7pW0mTn4bYc8Hs1Jd6FgA' }).live.ticketSecret).toBeTruthy();
  });

  it.each([
    ['SSE_TICKET_SECRET', 'short'],
    ['SSE_TICKET_TTL_SECONDS', '0'],
    ['SSE_MAX_STREAMS', 'many'],
    ['SSE_MAX_STREAMS_PER_CALLER', '0'],
    ['SSE_HEARTBEAT_SECONDS', '1.5'],
    ['SSE_MAX_BUFFERED_BYTES', '100'],
  ])('refuses %s=%s naming it', (name, value) => {
    expect(() => gateway({ [name]: value })).toThrow(name);
  });
});
