import { generateKeyPairSync } from 'node:crypto';
import type { GatewayConfig } from '@app/config';
import { DomainError, DomainErrorCode } from '@app/domain';
import { claims, JwksServer, keyPairs, signJwt } from '../../../../test/support/jwks';
import { TokenVerifier, VERIFIED_TOKEN_TTL_MS } from './token-verifier';

const SECRET = 'unit-secret-0123456789abcdef';
const ISS = 'https://id.example.test/';
const AUD = 'uploads-api';
const keys = keyPairs();
const hs = { alg: 'HS256' as const, secret: SECRET };
const now = () => Math.floor(Date.now() / 1000);

function verifier(auth: Partial<GatewayConfig['auth']>): TokenVerifier {
  return new TokenVerifier({ auth } as GatewayConfig);
}

async function rejection(v: TokenVerifier, token: string): Promise<string> {
  const e = await v.verify(token).then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof DomainError)) throw new Error(`expected a DomainError, got ${e === null ? 'acceptance' : String(e)}`);
  expect(e.code).toBe(DomainErrorCode.UNAUTHENTICATED);
  return e.message;
}

describe('TokenVerifier', () => {
  let jwks: JwksServer;
  let both: TokenVerifier;
  const valid = (extra: Record<string, unknown> = {}) => claims('alice', { iss: ISS, aud: AUD, ...extra });

  beforeAll(async () => {
    jwks = await JwksServer.start([keys.rs256, keys.es256]);
    both = verifier({ jwtSecret: SECRET, jwksUrl: jwks.url, jwtIssuer: ISS, jwtAudience: AUD });
  });
  afterAll(() => jwks.close());

  it.each([
    ['HS256 with the shared secret', () => signJwt(valid(), hs)],
    ['RS256 from the JWKS', () => signJwt(valid(), keys.rs256)],
    ['ES256 from the JWKS', () => signJwt(valid(), keys.es256)],
  ])('accepts %s', async (_, token) => {
    expect(await both.verify(token())).toEqual({ userId: 'alice', isAdmin: false, uploadToken: null });
  });

  it('grants admin to this service\'s own claim only (upload_platform_roles: ["admin"]), never to a generic roles claim', async () => {
    expect((await both.verify(signJwt(valid({ upload_platform_roles: ['admin'] }), keys.es256))).isAdmin).toBe(true);
    expect((await both.verify(signJwt(valid({ upload_platform_roles: 'admin' }), keys.es256))).isAdmin).toBe(false);
    // Issue 16: a token the identity provider signed for another application, with its roles, is no admin here.
    expect((await both.verify(signJwt(valid({ roles: ['admin'] }), keys.es256))).isAdmin).toBe(false);
    expect((await both.verify(signJwt(valid({ role: 'admin' }), hs))).isAdmin).toBe(false);
    const custom = verifier({ jwtSecret: SECRET, adminClaim: 'https://uploads.example/roles', adminRole: 'uploads-admin' });
    expect((await custom.verify(signJwt(claims('ann', { 'https://uploads.example/roles': ['uploads-admin'] }), hs))).isAdmin).toBe(true);
    expect((await custom.verify(signJwt(claims('ann', { 'https://uploads.example/roles': ['admin'] }), hs))).isAdmin).toBe(false);
  });

  it('requires exp, at most the maximum age ahead (and from iat)', async () => {
    const v = verifier({ jwtSecret: SECRET, maxTokenAgeSeconds: 3600 });
    expect(await rejection(v, signJwt({ sub: 'carol' }, hs))).toMatch(/no exp/);
    expect(await rejection(v, signJwt({ sub: 'carol', exp: now() + 30 * 86400 }, hs))).toMatch(/lives longer/);
    expect(await rejection(v, signJwt({ sub: 'carol', iat: now() - 7200, exp: now() + 600 }, hs))).toMatch(/lives longer/);
    expect((await v.verify(signJwt({ sub: 'carol', iat: now(), exp: now() + 3600 }, hs))).userId).toBe('carol');
    // Default: one day.
    expect(await rejection(verifier({ jwtSecret: SECRET }), signJwt({ sub: 'carol', exp: now() + 2 * 86400 }, hs))).toMatch(/86400 s/);
  });

  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tamper = (token: string) => {
    const [h, , s] = token.split('.');
    return `${h}.${Buffer.from(JSON.stringify(valid({ sub: 'mallory', roles: ['admin'] }))).toString('base64url')}.${s}`;
  };

  it.each<[string, () => string, RegExp]>([
    ['an expired token', () => signJwt(valid({ exp: now() - 10 }), hs), /jwt expired/],
    ['an expired RS256 token', () => signJwt(valid({ exp: now() - 10 }), keys.rs256), /jwt expired/],
    ['a token not valid yet (nbf)', () => signJwt(valid({ nbf: now() + 600 }), hs), /jwt not active/],
    ['a tampered HS256 payload', () => tamper(signJwt(valid(), hs)), /invalid signature/],
    ['a tampered RS256 payload', () => tamper(signJwt(valid(), keys.rs256)), /invalid signature/],
    ['a tampered ES256 payload', () => tamper(signJwt(valid(), keys.es256)), /invalid signature/],
    ['HS256 signed with another secret', () => signJwt(valid(), { alg: 'HS256', secret: 'another-secret-0123456789' }), /invalid signature/],
    [
      'RS256 signed by another key under a known kid',
      () => signJwt(valid(), { alg: 'RS256', privateKey: other.privateKey, kid: 'rsa-1' }),
      /invalid signature/,
    ],
    [
      'ES256 signed by another key under a known kid',
      () => signJwt(valid(), { alg: 'ES256', privateKey: otherEc.privateKey, kid: 'ec-1' }),
      /invalid signature/,
    ],
    ['RS256 with a kid the JWKS does not have', () => signJwt(valid(), { alg: 'RS256', privateKey: other.privateKey, kid: 'unknown' }), /./],
    ['alg: none without a signature', () => signJwt(valid(), { alg: 'none' }), /./],
    ['alg: none with a copied signature', () => `${signJwt(valid(), { alg: 'none' })}${signJwt(valid(), hs).split('.')[2]}`, /./],
    [
      'alg: HS256 signed with the RSA public key (algorithm confusion)',
      () => signJwt(valid(), { alg: 'HS256', secret: keys.rs256.publicKey.export({ type: 'spki', format: 'pem' }).toString(), kid: 'rsa-1' }),
      /invalid signature/,
    ],
    ['an RS256 header on an ES256 signature', () => signJwt(valid(), keys.es256, { alg: 'RS256', kid: 'ec-1' }), /./],
    ['HS512 (not accepted)', () => signJwt(valid(), hs, { alg: 'HS512' }), /invalid algorithm|not accepted/],
    ['the wrong issuer', () => signJwt(valid({ iss: 'https://evil.example/' }), hs), /jwt issuer invalid/],
    ['no issuer', () => signJwt(claims('alice', { aud: AUD }), hs), /jwt issuer invalid/],
    ['the wrong audience', () => signJwt(valid({ aud: 'another-api' }), keys.rs256), /jwt audience invalid/],
    ['no audience', () => signJwt(claims('alice', { iss: ISS }), hs), /jwt audience invalid/],
    ['no sub', () => signJwt({ iss: ISS, aud: AUD, exp: now() + 60 }, hs), /sub/],
    ['an empty sub', () => signJwt(valid({ sub: '' }), hs), /sub/],
    ['a numeric sub', () => signJwt(valid({ sub: 42 }), hs), /sub/],
    ['garbage in the three segments', () => 'abc.def.ghi', /./],
  ])('rejects %s', async (_, token, why) => {
    expect(await rejection(both, token())).toMatch(why);
  });

  it('with only a JWKS configured, refuses HS256 tokens (even "signed" with the public key)', async () => {
    const jwksOnly = verifier({ jwksUrl: jwks.url });
    expect((await jwksOnly.verify(signJwt(claims('bob'), keys.rs256))).userId).toBe('bob');
    await rejection(jwksOnly, signJwt(claims('bob'), { alg: 'HS256', secret: keys.rs256.publicKey.export({ type: 'spki', format: 'pem' }).toString() }));
  });

  it('with only a secret configured, refuses RS256 and ES256 tokens', async () => {
    const secretOnly = verifier({ jwtSecret: SECRET });
    expect((await secretOnly.verify(signJwt(claims('bob'), hs))).userId).toBe('bob');
    await rejection(secretOnly, signJwt(claims('bob'), keys.rs256));
    await rejection(secretOnly, signJwt(claims('bob'), keys.es256));
  });

  it('with a secret and no iss/aud configured, does not require them (exp still required)', async () => {
    expect((await verifier({ jwtSecret: SECRET }).verify(signJwt(claims('carol'), hs))).userId).toBe('carol');
  });

  it('an unreachable JWKS is a 401, not a crash', async () => {
    const dead = verifier({ jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json' });
    await rejection(dead, signJwt(claims('bob'), keys.rs256));
  });

  it('a server with neither secret nor JWKS accepts no token', async () => {
    expect(await rejection(verifier({}), signJwt(claims('bob'), hs))).toMatch(/accepts no bearer tokens/);
  });

  it('never echoes the token in its error', async () => {
    const token = signJwt(valid({ exp: now() - 10 }), hs);
    expect(await rejection(both, token)).not.toContain(token.split('.')[2]);
  });

  describe('remembers verified tokens', () => {
    const at = (clock: { t: number }, auth: Partial<GatewayConfig['auth']> = { jwtSecret: SECRET }) =>
      new TokenVerifier({ auth } as GatewayConfig, () => clock.t);

    it('answers a token it verified from memory, until the token expires and not a moment longer', async () => {
      const clock = { t: Date.now() };
      const v = at(clock);
      const exp = Math.floor(clock.t / 1000) + 30;
      const token = signJwt(claims('dave', { exp }), hs);
      const first = await v.verify(token);
      expect(await v.verify(token)).toBe(first);
      clock.t = exp * 1000 - 1;
      expect(await v.verify(token)).toBe(first);
      clock.t = exp * 1000;
      expect(await rejection(v, token)).toMatch(/jwt expired/);
    });

    it('checks a long-lived token again after VERIFIED_TOKEN_TTL_MS', async () => {
      const clock = { t: Date.now() };
      const v = at(clock);
      const token = signJwt(claims('erin'), hs);
      const first = await v.verify(token);
      clock.t += VERIFIED_TOKEN_TTL_MS - 1;
      expect(await v.verify(token)).toBe(first);
      clock.t += 2;
      const again = await v.verify(token);
      expect(again).not.toBe(first);
      expect(again).toEqual(first);
    });

    it('a remembered token vouches for no other: a tampered copy is still refused', async () => {
      const v = at({ t: Date.now() });
      const token = signJwt(valid(), hs);
      await v.verify(token);
      expect(await rejection(v, tamper(token))).toMatch(/invalid signature/);
    });

    it('does not outlive its configuration: a verifier with another secret refuses what the first one remembers', async () => {
      const clock = { t: Date.now() };
      const token = signJwt(claims('frank'), hs);
      expect((await at(clock).verify(token)).userId).toBe('frank');
      await rejection(at(clock, { jwtSecret: 'a-rotated-secret-0123456789' }), token);
    });

    it('remembers RS256 tokens from the JWKS the same way', async () => {
      const v = at({ t: Date.now() }, { jwksUrl: jwks.url });
      const token = signJwt(claims('gina'), keys.rs256);
      const first = await v.verify(token);
      expect(await v.verify(token)).toBe(first);
    });
  });
});
