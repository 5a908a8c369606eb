import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { performance } from 'node:perf_hooks';
import { Correlation } from './correlation';
import { logRequest, requestIdOf } from './logging';
import { Metrics } from './metrics';

/**
 * Per HTTP request: the correlation scope (the request id, echoed as X-Request-Id), and once the response is
 * sent its duration by route template and its log line. Unmatched paths count as one route, so scanners
 * cannot blow up the label set.
 */
@Injectable()
export class HttpObservabilityMiddleware implements NestMiddleware {
  use(req: Request & { id?: string }, res: Response, next: NextFunction): void {
    const id = requestIdOf(req);
    req.id = id;
    if (!res.getHeader('x-request-id')) res.setHeader('x-request-id', id);
    const start = performance.now();
    res.once('finish', () => {
      const ms = performance.now() - start;
      const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
      Metrics.httpRequestDuration.observe({ method: req.method, route, status_code: String(res.statusCode) }, ms / 1000);
      logRequest(req, res, ms);
    });
    Correlation.run(id, next);
  }
}
