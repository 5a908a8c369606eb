import { DynamicModule, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
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

/**
 * Query strings carry pre-signature material (X-Amz-Signature, X-Amz-Credential) and webhook tokens:
 * a logged URL keeps only its path.
 */
export function pathOnly(url: string | undefined): string {
  return (url ?? '').split('?')[0];
}

/**
 * Structured JSON logs through pino (nestjs-pino): one object per line with `app`, `level`, `time`, `msg`,
 * `correlationId`, and for HTTP one line per request with method, path, status and duration. Secrets
 * never reach a line: Authorization, X-Upload-Token, cookies and query strings are removed.
 */
export function loggingModule(app: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      base: { app },
      messageKey: 'msg',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => {
        const correlationId = Correlation.current();
        return correlationId ? { correlationId } : {};
      },
      genReqId: (req, res) => {
        const id = requestIdOf(req);
        res.setHeader('x-request-id', id);
        return id;
      },
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId' },
      // Probes and scrapes every few seconds would drown everything else.
      autoLogging: { ignore: (req) => /^\/(health|metrics)(\/|$)/.test(pathOnly(req.url)) },
      serializers: {
        req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, path: pathOnly(req.url) }),
        res: (res: ServerResponse | { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      redact: { paths: ['req.headers.authorization', 'req.headers["x-upload-token"]', 'req.headers.cookie', '*.token', '*.uploadToken'], censor: '[redacted]' },
      customSuccessMessage: (req, res, ms) => `${req.method} ${pathOnly(req.url)} ${res.statusCode} ${Math.round(ms)} ms`,
      customErrorMessage: (req, res) => `${req.method} ${pathOnly(req.url)} ${res.statusCode} failed`,
    },
    forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
  });
}
