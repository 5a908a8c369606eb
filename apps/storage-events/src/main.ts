import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Topology } from '@app/contracts';
import { installShutdownDeadline, jsonLogger, loadConfigOrExit, storageEventsConfig, StorageEventsEnv } from '@app/config';
import { AmqpConnection, AmqpServer } from '@app/messaging';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(StorageEventsEnv, storageEventsConfig);
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: jsonLogger(config.logLevel, 'storage-events') });
  app.connectMicroservice(
    {
      strategy: new AmqpServer(app.get(AmqpConnection), [
        {
          queue: Topology.storageNotificationsQueue,
          pattern: MessagePattern.StorageNotification,
          prefetch: config.prefetch,
          deadLetterQueue: Topology.storageNotificationsDeadQueue,
        },
      ]),
    },
    { inheritAppConfig: false },
  );
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  await app.startAllMicroservices();
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
