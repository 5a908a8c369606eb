import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Correlation } from './correlation';
import { requestIdOf } from './logging';
import { Metrics } from './metrics';

/**
 * Per HTTP request: the correlation scope (the request id, echoed as X-Request-Id), and its duration
 * by route template once the response is sent. Unmatched paths count as one route, so scanners cannot
 * blow up the label set.
 */
@Injectable()
export class HttpObservabilityMiddleware implements NestMiddleware {
  use(req: Request & { id?: unknown }, res: Response, next: NextFunction): void {
    const id = requestIdOf(req);
    req.id = id;
    if (!res.getHeader('x-request-id')) res.setHeader('x-request-id', id);
    const stop = Metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : 'unmatched';
      stop({ method: req.method, route, status_code: String(res.statusCode) });
    });
    Correlation.run(id, next);
  }
}
