import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { JobType, jobQueue, MessagePattern, Topology } from '@app/contracts';
import { installShutdownDeadline, jobProcessorConfig, JobProcessorEnv, loadConfigOrExit } from '@app/config';
import { AmqpConnection, AmqpServer, exitOnTopologyMismatch } from '@app/messaging';
import { serveOpenApi } from '@app/observability';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(JobProcessorEnv, jobProcessorConfig);
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  serveOpenApi(app, { title: 'job-processor', description: `Runs ${config.jobTypes.join(', ')} jobs; HTTP only for health and metrics.`, version: '1' });
  app.connectMicroservice(
    {
      // One queue per job type, so each type can be scaled on its own (JOB_TYPES).
      strategy: new AmqpServer(
        app.get(AmqpConnection),
        config.jobTypes.map((type) => ({
          queue: jobQueue(type),
          pattern: MessagePattern.RunJob,
          prefetch: type === JobType.THUMBNAIL ? config.thumbnailConcurrency : config.concurrency,
          deadLetterQueue: Topology.jobsDeadQueue,
        })),
      ),
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
