import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { GatewayConfig, gatewayConfig, GatewayEnv, installShutdownDeadline, loadConfigOrExit } from '@app/config';
import { serveMetricsOn, serveOpenApi } from '@app/observability';
import { AppModule } from './app.module';
import { GATEWAY_OPENAPI } from './openapi/gateway-openapi';

/**
 * HTTP hygiene, all in one place: security headers, CORS from CORS_ORIGINS, which client address to
 * believe, and the body size limit. (Per-caller rate limits are a global guard: RateLimitGuard.)
 */
function harden(app: NestExpressApplication, config: GatewayConfig): void {
  app.disable('x-powered-by');
  // A JSON API (plus /demo and /docs): no inline scripts, not framed, no referrer leaks of pre-signed URLs.
  // Pages may talk to the store itself (uploads go straight to it) and show local previews (blob:).
  const store = new URL(config.s3.publicEndpoint).origin;
  app.use(
    helmet({
      // No upgrade-insecure-requests: a store on plain http (local MinIO, Ceph) must stay reachable.
      contentSecurityPolicy: { directives: { connectSrc: ["'self'", store], imgSrc: ["'self'", 'data:', 'blob:', store], upgradeInsecureRequests: null } },
      crossOriginResourcePolicy: { policy: 'same-site' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  const origins = config.http.corsOrigins;
  if (origins.length > 0) {
    // Browsers (Uppy, pages on another origin) call the API directly. A list of origins also lets the
    // upload-token cookie through; '*' cannot, by the CORS rules. ETag: multipart from a browser needs it.
    const any = origins.includes('*');
    app.enableCors({
      origin: any ? '*' : origins,
      credentials: !any,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Upload-Token', 'X-Request-Id'],
      exposedHeaders: ['ETag', 'Retry-After', 'Location', 'X-Request-Id'],
      maxAge: 600,
    });
  }
  app.set('trust proxy', config.http.trustedProxies);
  app.useBodyParser('json', { limit: config.bodyLimit });
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(GatewayEnv, gatewayConfig);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  harden(app, config);
  serveOpenApi(app, GATEWAY_OPENAPI);
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  if (config.metricsPort !== null) {
    const metrics = await serveMetricsOn(config.metricsPort);
    process.once('SIGTERM', () => metrics.close());
  }
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
