import { ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerException, ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import type { GatewayConfig } from '@app/config';
import type { Actor } from '@app/domain';
import { IS_PUBLIC } from '../identity/auth.guard';

const CREATES = 'createsResources';
/** Counts a GET route as a write (it creates something, like Uppy's `GET /s3/params`). Every non-GET route already is one. */
export const CreatesResources = () => SetMetadata(CREATES, true);

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Throttler settings from config: `writes` counts every request that may create or change something,
 * `requests` counts everything. Both per caller (see RateLimitGuard.getTracker) across all routes, so a
 * route added later is limited without opting in. Counters live in memory: per gateway replica.
 */
export function rateLimitOptions(config: GatewayConfig['http']['rateLimit']): ThrottlerModuleOptions {
  const ttl = config.windowSeconds * 1000;
  return {
    throttlers: [
      ...(config.writes > 0 ? [{ name: 'writes', limit: config.writes, ttl, skipIf: (ctx: ExecutionContext) => !isWrite(ctx) }] : []),
      ...(config.requests > 0 ? [{ name: 'requests', limit: config.requests, ttl }] : []),
    ],
  };
}

function isWrite(ctx: ExecutionContext): boolean {
  const req = ctx.switchToHttp().getRequest<Request>();
  if (!READ_METHODS.has(req.method)) return true;
  return ctx.getHandler() ? Reflect.getMetadata(CREATES, ctx.getHandler()) === true : false;
}

/**
 * Global rate limit, after AuthGuard: a signed-in caller is counted by user id (whatever their IP), an
 * anonymous one by client IP (HTTP_TRUSTED_PROXIES decides which address that is). Beyond the limit:
 * 429 with Retry-After. Public routes (health probes) are never limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async shouldSkip(ctx: ExecutionContext): Promise<boolean> {
    return this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()]) === true;
  }

  protected override async getTracker(req: Record<string, any>): Promise<string> {
    const actor = (req as Request & { actor?: Actor }).actor;
    return actor?.userId ? `user:${actor.userId}` : `ip:${(req as Request).ip ?? 'unknown'}`;
  }

  /** One counter per caller and throttler for all routes together (the default counts each route apart). */
  protected override generateKey(_ctx: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  protected override async throwThrottlingException(ctx: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const res = ctx.switchToHttp().getResponse<Response>();
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    res.setHeader('Retry-After', String(retryAfter));
    throw new ThrottlerException(`rate limit exceeded: at most ${detail.limit} such requests per ${Math.round(detail.ttl / 1000)} s per caller; retry after ${retryAfter} s`);
  }
}
