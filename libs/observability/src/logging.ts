import { DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LoggerModule, PinoLogger } from 'nestjs-pino';
import { destination } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import { Correlation } from './correlation';

/** Incoming ids we accept as the request id (a proxy's or the client's), if they look sane. */
const REQUEST_ID_HEADERS = ['x-request-id', 'x-correlation-id'] as const;
const SANE_ID = /^[\w.:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage & { id?: unknown }): string {
  if (typeof req.id === 'string') return req.id;
  for (const name of REQUEST_ID_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string' && SANE_ID.test(value)) return value;
  }
  return randomUUID();
}

const LOG_FIELDS = Symbol('requestLogFields');

/**
 * Adds fields to the request's own log line (the one line written when the response is sent, logRequest), so
 * a route can name what it did (a created session's id) without a second line per request.
 */
export function annotateRequestLog(req: object, fields: Record<string, unknown>): void {
  // Controllers see the framework's request; the line is written from the node request under it.
  const target = ((req as { raw?: object }).raw ?? req) as { [LOG_FIELDS]?: Record<string, unknown> };
  target[LOG_FIELDS] = { ...target[LOG_FIELDS], ...fields };
}

/** Probes and scrapes every few seconds would drown everything else. */
const UNLOGGED_PATHS = /^\/(health|metrics)(\/|$)/;

/**
 * The request's log line, once its response is sent (called by HttpObservabilityMiddleware): method, path
 * without query string, status, duration, the request id, and what the route added (annotateRequestLog).
 * One call on the root logger, no per-request child loggers (pino-http made two or three per request, which
 * cost more than the rest of a small request's work).
 */
export function logRequest(req: IncomingMessage & { id?: string }, res: ServerResponse, ms: number): void {
  const path = pathOnly(req.url);
  const logger = PinoLogger.root;
  if (!logger || UNLOGGED_PATHS.test(path) || !logger.isLevelEnabled('info')) return;
  const fields = (req as { [LOG_FIELDS]?: Record<string, unknown> })[LOG_FIELDS];
  const responseTime = Math.round(ms);
  const outcome = res.statusCode >= 500 ? 'failed' : `${responseTime} ms`;
  logger.info({ requestId: req.id, req, res, responseTime, ...fields }, `${req.method} ${path} ${res.statusCode} ${outcome}`);
}

/**
 * Query strings carry pre-signature material (X-Amz-Signature, X-Amz-Credential) and webhook tokens:
 * a logged URL keeps only its path.
 */
export function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0];
}

/**
 * Structured JSON logs through pino (nestjs-pino): one object per line with `app`, `level`, `time`, `msg`,
 * `correlationId`, and for HTTP one line per request with method, path, status and duration (logRequest).
 * Secrets never reach a line: Authorization, X-Upload-Token, cookies and query strings are removed.
 */
export function loggingModule(app: string, level: string): DynamicModule {
  const root: PinoHttpOptions = {
    level,
    base: { app },
    messageKey: 'msg',
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const correlationId = Correlation.current();
      return correlationId ? { correlationId } : {};
    },
    serializers: {
      req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, path: pathOnly(req.url) }),
      res: (res: ServerResponse | { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-upload-token"]', 'req.headers.cookie', '*.token', '*.uploadToken'], censor: '[redacted]' },
  };
  // Asynchronous stdout: a synchronous write(2) per line cost the gateway 0.1 ms per request on the event loop
  // (13% of a GET's CPU in its profile). Lines written while a write is in flight go out together in the next;
  // pino flushes what is left synchronously when the process exits.
  const stdout = destination({ dest: 1, sync: false });
  return LoggerModule.forRoot({
    pinoHttp: [root, stdout],
    // nestjs-pino provides the root logger (and Nest's Logger on it); the request lines are ours (logRequest).
    forRoutes: [],
  });
}
