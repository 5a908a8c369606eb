import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { gatewayConfig, GatewayEnv, installShutdownDeadline, jsonLogger, loadConfigOrExit } from '@app/config';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(GatewayEnv, gatewayConfig);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    logger: jsonLogger(config.logLevel, 'upload-gateway'),
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: config.bodyLimit });
  app.disable('x-powered-by');
  // Browsers (Uppy, the demo page on another origin) call the API directly. A list of origins also lets
  // cookies through; '*' cannot, by the CORS rules.
  app.enableCors({
    origin: config.corsOrigins === '*' ? '*' : config.corsOrigins,
    credentials: config.corsOrigins !== '*',
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Upload-Token'],
    exposedHeaders: ['ETag', 'Location', 'Retry-After'],
    maxAge: 3600,
  });
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
