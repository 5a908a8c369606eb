import { Inject, Injectable } from '@nestjs/common';
import jwt, { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { JwksClient } from 'jwks-rsa';
import { APP_CONFIG, GatewayConfig } from '@app/config';
import { Actor, DomainError, DomainErrorCode } from '@app/domain';

/** Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL. */
@Injectable()
export class TokenVerifier {
  private readonly jwks: JwksClient | null;

  constructor(@Inject(APP_CONFIG) private readonly config: GatewayConfig) {
    this.jwks = config.auth.jwksUrl ? new JwksClient({ jwksUri: config.auth.jwksUrl, cache: true, rateLimit: true }) : null;
  }

  async verify(token: string): Promise<Actor> {
    const { jwtSecret, jwtIssuer, jwtAudience } = this.config.auth;
    if (!jwtSecret && !this.jwks) throw this.unauthenticated('this server accepts no bearer tokens (no JWT_SECRET or JWKS_URL configured)');
    const getKey = (header: JwtHeader, done: (err: Error | null, key?: string) => void) => {
      if (header.alg === 'HS256' && jwtSecret) return done(null, jwtSecret);
      if (this.jwks && (header.alg === 'RS256' || header.alg === 'ES256')) {
        return this.jwks.getSigningKey(header.kid).then((k) => done(null, k.getPublicKey()), (e: Error) => done(e));
      }
      done(new Error(`algorithm ${header.alg} is not accepted`));
    };
    const claims = await new Promise<JwtPayload>((resolve, reject) =>
      jwt.verify(
        token,
        getKey,
        { algorithms: [...(jwtSecret ? (['HS256'] as const) : []), ...(this.jwks ? (['RS256', 'ES256'] as const) : [])], issuer: jwtIssuer, audience: jwtAudience },
        (err, decoded) => (err || !decoded || typeof decoded === 'string' ? reject(err ?? new Error('not a JWT payload')) : resolve(decoded)),
      ),
    ).catch((e: Error) => {
      throw this.unauthenticated(`invalid bearer token: ${e.message}`);
    });
    if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255) throw this.unauthenticated('the token has no usable sub claim');
    const roles: unknown = claims.roles;
    return { userId: claims.sub, isAdmin: Array.isArray(roles) && roles.includes('admin'), uploadToken: null };
  }

  private unauthenticated(message: string): DomainError {
    return new DomainError(DomainErrorCode.UNAUTHENTICATED, message);
  }
}
