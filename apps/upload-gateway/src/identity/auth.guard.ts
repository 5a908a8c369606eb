import { CanActivate, createParamDecorator, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Actor, DomainError, DomainErrorCode, UserDirectory } from '@app/domain';
import { TokenVerifier } from './token-verifier';

const PUBLIC = 'isPublicRoute';
/** Marks a route that needs no identity at all (health, docs). Every other route gets an Actor. */
export const Public = () => SetMetadata(PUBLIC, true);

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
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<WithActor>();
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(authorization.trim());
      if (!match) throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Authorization must be "Bearer <JWT>"');
      req.actor = await this.verifier.verify(match[1]);
      await this.users.ensure(req.actor.userId!);
      return true;
    }
    // Uppy's S3 plugin sends no custom headers: a page on the gateway's origin proves itself with the cookie.
    const token = req.headers['x-upload-token'] ?? uploadTokenCookie(req.headers.cookie);
    req.actor = { userId: null, isAdmin: false, uploadToken: typeof token === 'string' && token.length > 0 && token.length <= 200 ? token : null };
    return true;
  }
}

export const UPLOAD_TOKEN_COOKIE = 'upload_token';

function uploadTokenCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name !== UPLOAD_TOKEN_COOKIE) continue;
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
