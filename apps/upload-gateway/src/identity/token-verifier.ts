import { Inject, Injectable, Optional } from '@nestjs/common';
import jwt, { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { createSecretKey, KeyObject } from 'node:crypto';
import { APP_CONFIG, GatewayConfig } from '@app/config';
import { Actor, DomainError, DomainErrorCode } from '@app/domain';

/** Milliseconds since the epoch; replaced in tests. */
export const TOKEN_CLOCK = Symbol('TokenClock');

/** The longest a verified token is trusted without checking it again (bounds a JWKS key rotation's reach). */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Verified tokens remembered at once (oldest forgotten first). */
export const VERIFIED_TOKENS_MAX = 10_000;
/** Defaults of the token rules (GatewayConfig.auth). */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 86_400;
export const DEFAULT_ADMIN_CLAIM = 'upload_platform_roles';
/** Seconds of clock difference allowed between the issuer and us when judging a token's lifetime. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL. Every token needs an
 * `exp` at most `maxTokenAgeSeconds` ahead (and from its `iat`): a stolen token is not a key forever. Admin is the
 * role `adminRole` in the array claim `adminClaim`, this service's own (a generic `roles: ["admin"]` that an
 * identity provider issues for another application grants nothing here).
 *
 * A token that verified is remembered (by its exact text) until its `exp`, and never longer than
 * VERIFIED_TOKEN_TTL_MS, so a client sending the same token on every request pays for the signature
 * once a minute instead of every time. The memory belongs to this instance, which is built from one
 * configuration: a new secret, JWKS URL, issuer or audience means a new process and an empty memory.
 * Rejections are never remembered.
 */
@Injectable()
export class TokenVerifier {
  private readonly jwks: JwksClient | null;
  /** Made once: jsonwebtoken given a string first tries to parse it as a public key, on every call. */
  private readonly secret: KeyObject | null;
  private readonly verified = new Map<string, { actor: Actor; until: number }>();
  private readonly now: () => number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: GatewayConfig,
    @Optional() @Inject(TOKEN_CLOCK) clock?: () => number,
  ) {
    this.jwks = config.auth.jwksUrl ? new JwksClient({ jwksUri: config.auth.jwksUrl, cache: true, rateLimit: true }) : null;
    this.secret = config.auth.jwtSecret ? createSecretKey(Buffer.from(config.auth.jwtSecret, 'utf8')) : null;
    this.now = clock ?? Date.now;
  }

  async verify(token: string): Promise<Actor> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known) {
      if (now < known.until) return known.actor;
      this.verified.delete(token);
    }
    const claims = await this.check(token, now);
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) throw this.unauthenticated('the token has no usable sub claim');
    const maxAge = this.config.auth.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
    if (typeof claims.exp !== 'number') throw this.unauthenticated('the token has no exp claim (tokens must expire)');
    if (claims.exp - now / 1000 > maxAge + CLOCK_SKEW_SECONDS || (typeof claims.iat === 'number' && claims.exp - claims.iat > maxAge + CLOCK_SKEW_SECONDS)) {
      throw this.unauthenticated(`the token lives longer than the ${maxAge} s this server accepts`);
    }
    const roles: unknown = claims[this.config.auth.adminClaim ?? DEFAULT_ADMIN_CLAIM];
    const actor: Actor = Object.freeze({
      userId: claims.sub,
      isAdmin: Array.isArray(roles) && roles.includes(this.config.auth.adminRole ?? 'admin'),
      uploadToken: null,
    });
    this.remember(token, actor, Math.min(claims.exp * 1000, now + VERIFIED_TOKEN_TTL_MS));
    return actor;
  }

  private check(token: string, now: number): Promise<JwtPayload> {
    const { jwtIssuer, jwtAudience } = this.config.auth;
    const secret = this.secret;
    if (!secret && !this.jwks) return Promise.reject(this.unauthenticated('this server accepts no bearer tokens (no JWT_SECRET or JWKS_URL configured)'));
    const getKey = (header: JwtHeader, done: (err: Error | null, key?: string | KeyObject) => void) => {
      if (header.alg === 'HS256' && secret) return done(null, secret);
      if (this.jwks && (header.alg === 'RS256' || header.alg === 'ES256')) {
        return this.jwks.getSigningKey(header.kid).then(
          (k) => done(null, k.getPublicKey()),
          (e: Error) => done(e),
        );
      }
      done(new Error(`algorithm ${header.alg} is not accepted`));
    };
    const algorithms = [...(secret ? (['HS256'] as const) : []), ...(this.jwks ? (['RS256', 'ES256'] as const) : [])];
    return new Promise<JwtPayload>((resolve, reject) =>
      jwt.verify(
        token,
        getKey as jwt.GetPublicKeyOrSecret,
        { algorithms, issuer: jwtIssuer, audience: jwtAudience, clockTimestamp: Math.floor(now / 1000) },
        (err, decoded) => (err || !decoded || typeof decoded === 'string' ? reject(err ?? new Error('not a JWT payload')) : resolve(decoded)),
      ),
    ).catch((e: Error) => {
      throw e instanceof DomainError ? e : this.unauthenticated(`invalid bearer token: ${e.message}`);
    });
  }

  private remember(token: string, actor: Actor, until: number): void {
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { actor, until });
  }

  private unauthenticated(message: string): DomainError {
    return new DomainError(DomainErrorCode.UNAUTHENTICATED, message);
  }
}
