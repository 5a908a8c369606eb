import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { jobQueue, MessagePattern, Topology } from '@app/contracts';
import { installShutdownDeadline, jobProcessorConfig, JobProcessorEnv, jsonLogger, loadConfigOrExit } from '@app/config';
import { AmqpConnection, AmqpServer } from '@app/messaging';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(JobProcessorEnv, jobProcessorConfig);
  const app = await NestFactory.create(AppModule.forRoot(config), { logger: jsonLogger(config.logLevel, 'job-processor') });
  app.connectMicroservice(
    {
      // One queue per job type, so each type can be scaled on its own (JOB_TYPES).
      strategy: new AmqpServer(
        app.get(AmqpConnection),
        config.jobTypes.map((type) => ({ queue: jobQueue(type), pattern: MessagePattern.RunJob, prefetch: config.concurrency, deadLetterQueue: Topology.jobsDeadQueue })),
      ),
    },
    { inheritAppConfig: false },
  );
  app.enableShutdownHooks();
  installShutdownDeadline(config.shutdownTimeoutMs);
  await app.startAllMicroservices();
  await app.listen(config.port, '0.0.0.0');
}

void bootstrap();
