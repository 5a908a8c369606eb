import { CanActivate, ExecutionContext, HttpException, HttpStatus, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Actor } from '@app/domain';
import { IS_PUBLIC } from '../identity/auth.guard';
import { RateLimitRule, RateLimits } from './rate-limits';

const CREATES = 'createsResources';
/** Counts a GET route as a write (it creates something, like Uppy's `GET /s3/params`). Every non-GET route already is one. */
export const CreatesResources = () => SetMetadata(CREATES, true);

const WEIGHT = 'workWeight';

/** What a work weight is read from: the parsed body and query (guards run after the body parser). */
export interface WorkRequest {
  body?: unknown;
  query?: Record<string, unknown>;
}

/**
 * A request that does the work of several counts as several against the rate limits (issue 16, MEDIUM 4): a group
 * of N files as N creates, a request for N part URLs as one per 100 URLs (a create signs up to 100). Capped at the
 * limit itself: a request heavier than the whole limit passes only with an empty window. Malformed input weighs 1
 * (the validation refuses it afterwards).
 */
export const WeighsWork = (weigh: (req: WorkRequest) => number) => SetMetadata(WEIGHT, weigh);

/** URLs one write pays for: what one create signs. */
export const URLS_PER_WRITE = 100;

/** The weight of N items of an array field of the body (a group's `files`). */
export const perItemOf =
  (field: string) =>
  (req: WorkRequest): number => {
    const items = req.body !== null && typeof req.body === 'object' ? (req.body as Record<string, unknown>)[field] : undefined;
    return Array.isArray(items) ? items.length : 1;
  };

/** The weight of N part URLs: ceil(N / 100), from a body array or a comma-separated query parameter. */
export const perUrlsOf =
  (field: string) =>
  (req: WorkRequest): number => {
    const fromBody = req.body !== null && typeof req.body === 'object' ? (req.body as Record<string, unknown>)[field] : undefined;
    const fromQuery = req.query?.[field];
    const n = Array.isArray(fromBody) ? fromBody.length : typeof fromQuery === 'string' ? fromQuery.split(',').length : 1;
    return Math.ceil(n / URLS_PER_WRITE);
  };

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface GuardedRequest extends WorkRequest {
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
    const weigh = this.reflector.get<((r: WorkRequest) => number) | undefined>(WEIGHT, ctx.getHandler());
    const weight = weigh ? Math.max(1, Math.floor(weigh(req)) || 1) : 1;
    if (writes && this.isWrite(ctx, req)) this.count(ctx, writes, caller, now, weight);
    if (requests) this.count(ctx, requests, caller, now, weight);
    return true;
  }

  private isWrite(ctx: ExecutionContext, req: GuardedRequest): boolean {
    return !READ_METHODS.has(req.method) || this.reflector.get<boolean>(CREATES, ctx.getHandler()) === true;
  }

  private count(ctx: ExecutionContext, rule: RateLimitRule, caller: string, now: number, weight: number): void {
    const wait = this.limits.hit(rule, caller, now, weight);
    if (wait === null) return;
    const res = ctx.switchToHttp().getResponse<HeaderSink>();
    if (res.setHeader) res.setHeader('Retry-After', String(wait));
    else res.header?.('Retry-After', String(wait));
    throw new HttpException(
      `rate limit exceeded: at most ${rule.limit} such requests per ${Math.round(rule.windowMs / 1000)} s per caller${weight > 1 ? ` (this one counts as ${Math.min(weight, rule.limit)}: its work)` : ''}; retry after ${wait} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
