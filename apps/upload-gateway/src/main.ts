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
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
