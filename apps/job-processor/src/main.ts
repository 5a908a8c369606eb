import 'reflect-metadata';
import { getPriority, setPriority } from 'node:os';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { JobType, jobQueuesOf, MessagePattern, Topology } from '@app/contracts';
import { installShutdownDeadline, jobProcessorConfig, JobProcessorEnv, loadConfigOrExit } from '@app/config';
import { AmqpConnection, AmqpServer, exitOnTopologyMismatch, PriorityGate, Subscription } from '@app/messaging';
import { serveOpenApi } from '@app/observability';
import { AppModule } from './app.module';

/**
 * Lowers this process's CPU priority to `nice` (never raises it: that needs privileges). Jobs are throughput work;
 * where the processor shares a host's cores, the gateway's requests and the notification path should not queue
 * behind hashing and decoding. A refusal is logged, not fatal.
 */
function yieldCpu(nice: number, log: (m: string) => void): void {
  if (nice === 0 || getPriority() >= nice) return;
  try {
    setPriority(nice);
    log(`CPU priority lowered to nice ${nice} (JOB_NICE)`);
  } catch (e) {
    log(`could not lower the CPU priority to nice ${nice} (JOB_NICE): ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(JobProcessorEnv, jobProcessorConfig);
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  yieldCpu(config.nice, (m) => app.get(Logger).log(m, 'JobProcessor'));
  /**
   * A job type's queues: one (classic, AMQP priorities), or one per priority band (quorum). Bands share the type's
   * concurrency through a PriorityGate: each band's consumer has its own prefetch (a higher band's message arrives
   * at once, whatever the lower bands hold), and a freed slot goes to the highest band waiting.
   */
  const jobSubscriptions = (type: JobType, mode: typeof config.amqp.queueMode): Subscription[] => {
    const prefetch = type === JobType.THUMBNAIL ? config.thumbnailConcurrency : config.concurrency;
    const queues = jobQueuesOf(type, mode);
    // One queue: twice the type's concurrency in hand; JobRunner runs at most `prefetch` handlers of the type at once,
    // so the claim, settle and ack of the others overlap the running handlers instead of holding their slots.
    if (queues.length === 1) return [{ queue: queues[0], pattern: MessagePattern.RunJob, prefetch: prefetch * 2, deadLetterQueue: Topology.jobsDeadQueue }];
    // Bands: `prefetch` jobs run at once; each band holds as many more in hand, so that a freed slot finds the next
    // message of a higher band already here (not on its way from the broker, while a lower band's message waits).
    const gate = new PriorityGate(prefetch, queues.length);
    return queues.map((queue, rank) => ({
      queue,
      pattern: MessagePattern.RunJob,
      prefetch: prefetch * 2,
      deadLetterQueue: Topology.jobsDeadQueue,
      gate,
      rank,
    }));
  };
  serveOpenApi(app, { title: 'job-processor', description: `Runs ${config.jobTypes.join(', ')} jobs; HTTP only for health and metrics.`, version: '1' });
  app.connectMicroservice(
    {
      // One queue per job type, so each type can be scaled on its own (JOB_TYPES).
      strategy: new AmqpServer(
        app.get(AmqpConnection),
        config.jobTypes.flatMap((type) => jobSubscriptions(type, config.amqp.queueMode)),
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
