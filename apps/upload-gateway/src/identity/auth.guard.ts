import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Actor, DomainError, DomainErrorCode, UserDirectory } from '@app/domain';
import { TokenVerifier } from './token-verifier';

export const IS_PUBLIC = 'isPublicRoute';
/** Marks a route that needs no identity at all (health, docs). Every other route gets an Actor. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

type WithActor = Request & { actor?: Actor };

/**
 * Global guard: a bearer token makes the caller that user (or an admin); no token makes them anonymous,
 * with the X-Upload-Token they presented. Use cases decide what an anonymous caller may do.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
    private readonly users: UserDirectory,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<WithActor>();
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(authorization.trim());
      if (!match) throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Authorization must be "Bearer <JWT>"');
      req.actor = await this.verifier.verify(match[1]);
      await this.users.ensure(req.actor.userId!);
      return true;
    }
    // Uppy's S3 plugin sends no custom headers: a page on the gateway's origin proves itself with the cookie,
    // on the routes such a page calls and nowhere else.
    const token = req.headers['x-upload-token'] ?? (takesCookie(req) ? uploadTokenCookie(req.headers.cookie, uploadTokenCookieName(req.secure)) : undefined);
    req.actor = { userId: null, isAdmin: false, uploadToken: typeof token === 'string' && token.length > 0 && token.length <= 200 ? token : null };
    return true;
  }
}

/**
 * The upload-token cookie: `__Host-upload_token` over https (Secure, Path=/, no Domain: a sibling subdomain cannot
 * set it), `upload_token` over plain http (development; a browser keeps no Secure cookie there). Over https only the
 * `__Host-` cookie is read. `req.secure` follows HTTP_TRUSTED_PROXIES (X-Forwarded-Proto from a trusted proxy).
 */
export function uploadTokenCookieName(secure: boolean): string {
  return secure ? '__Host-upload_token' : 'upload_token';
}

/**
 * Where the cookie stands for the caller: Uppy's Companion routes (`/s3/*`), the demo, and the demo's reads of its
 * own sessions (`GET /v1/uploads/:id` and its event stream). Any other route, every write among them, ignores it,
 * so a cross-site request can never act with it (SameSite=Strict is the first line; this is the second).
 */
function takesCookie(req: Request): boolean {
  const path = req.path;
  if (path.startsWith('/s3/') || path === '/demo' || path.startsWith('/demo/')) return true;
  return (req.method === 'GET' || req.method === 'HEAD') && /^\/v1\/uploads\/[^/]+(\/events)?$/.test(path);
}

export function uploadTokenCookie(header: string | undefined, cookieName: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== cookieName) continue;
    try {
      return decodeURIComponent(value.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The caller, as established by AuthGuard. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<WithActor>().actor;
  if (!actor) throw new Error('AuthGuard did not run for this route');
  return actor;
});
