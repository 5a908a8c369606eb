import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';
import { MessagePattern, Topology } from '@app/contracts';
import { installShutdownDeadline, loadConfigOrExit, storageEventsConfig, StorageEventsEnv } from '@app/config';
import { AmqpConnection, AmqpServer, exitOnTopologyMismatch } from '@app/messaging';
import { serveOpenApi } from '@app/observability';
import { AppModule } from './app.module';
import { webhookSubscriptions } from './webhooks/webhook-delivery.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(StorageEventsEnv, storageEventsConfig);
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  // Stores post notifications with whatever content type they like (Ceph RGW sends none): every body is read as JSON.
  app.useBodyParser('json', { type: () => true, limit: '1mb' });
  app.disable('x-powered-by');
  serveOpenApi(app, { title: 'storage-events', description: 'Storage notifications by webhook (MinIO, Ceph RGW), health and metrics.', version: '1' });
  app.connectMicroservice(
    {
      strategy: new AmqpServer(app.get(AmqpConnection), [
        // WEBHOOK_DELIVERY=only: a process that delivers webhooks and nothing else.
        ...(config.webhooks.delivery === 'only'
          ? []
          : [
              {
                queue: Topology.storageNotificationsQueue,
                pattern: MessagePattern.StorageNotification,
                prefetch: config.prefetch,
                deadLetterQueue: Topology.storageNotificationsDeadQueue,
              },
            ]),
        ...webhookSubscriptions(config),
      ]),
    },
    { inheritAppConfig: false },
  );
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  exitOnTopologyMismatch(app.get(AmqpConnection));
  await app.startAllMicroservices();
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
