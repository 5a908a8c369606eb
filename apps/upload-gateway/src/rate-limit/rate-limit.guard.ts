import { CanActivate, ExecutionContext, HttpException, HttpStatus, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Actor } from '@app/domain';
import { IS_PUBLIC } from '../identity/auth.guard';
import { RateLimitRule, RateLimits } from './rate-limits';

const CREATES = 'createsResources';
/** Counts a GET route as a write (it creates something, like Uppy's `GET /s3/params`). Every non-GET route already is one. */
export const CreatesResources = () => SetMetadata(CREATES, true);

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface GuardedRequest {
  method: string;
  ip?: string;
  actor?: Actor;
}

interface HeaderSink {
  header?(name: string, value: string): unknown;
  setHeader?(name: string, value: string): unknown;
}

/**
 * Global rate limit, after AuthGuard: `writes` counts every request that may create or change something,
 * `requests` counts everything; both per caller across all routes, so a route added later is limited without
 * opting in. A signed-in caller is counted by user id (whatever their IP), an anonymous one by client IP
 * (HTTP_TRUSTED_PROXIES decides which address that is). Beyond a limit: 429 with Retry-After, and the refused
 * request is not counted. Public routes (health probes) are never limited. Counting: RateLimits.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limits: RateLimits,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const { writes, requests } = this.limits;
    if (!writes && !requests) return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()]) === true) return true;
    const req = ctx.switchToHttp().getRequest<GuardedRequest>();
    const caller = req.actor?.userId ? `user:${req.actor.userId}` : `ip:${req.ip ?? 'unknown'}`;
    const now = Date.now();
    if (writes && this.isWrite(ctx, req)) this.count(ctx, writes, caller, now);
    if (requests) this.count(ctx, requests, caller, now);
    return true;
  }

  private isWrite(ctx: ExecutionContext, req: GuardedRequest): boolean {
    return !READ_METHODS.has(req.method) || this.reflector.get<boolean>(CREATES, ctx.getHandler()) === true;
  }

  private count(ctx: ExecutionContext, rule: RateLimitRule, caller: string, now: number): void {
    const wait = this.limits.hit(rule, caller, now);
    if (wait === null) return;
    const res = ctx.switchToHttp().getResponse<HeaderSink>();
    if (res.setHeader) res.setHeader('Retry-After', String(wait));
    else res.header?.('Retry-After', String(wait));
    throw new HttpException(
      `rate limit exceeded: at most ${rule.limit} such requests per ${Math.round(rule.windowMs / 1000)} s per caller; retry after ${wait} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
