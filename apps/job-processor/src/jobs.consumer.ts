import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { JOB_TYPES, JobType, MessagePattern, RunJobV1 } from '@app/contracts';
import { JobRunOutcome, RunJobUseCase } from '@app/domain';
import { DeadLetter, PassThroughRpcExceptions, toMessageDisposition } from '@app/messaging';
import { Correlation, Metrics } from '@app/observability';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseRunJob(body: unknown): RunJobV1 {
  const b = body as Partial<RunJobV1> | null;
  if (!b || typeof b !== 'object' || b.version !== 1 || typeof b.jobId !== 'string' || !UUID.test(b.jobId) || !JOB_TYPES.includes(b.type as JobType)) {
    throw new DeadLetter('not a RunJobV1 message (version 1, jobId uuid, known type)');
  }
  return b as RunJobV1;
}

/** Job messages in → jobs run, outcomes recorded, sessions settled. */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class JobsConsumer {
  constructor(
    // Used by @CreateRequestContext: every message gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly runJob: RunJobUseCase,
  ) {}

  @EventPattern(MessagePattern.RunJob)
  @CreateRequestContext()
  async handle(@Payload() body: unknown): Promise<JobRunOutcome> {
    const message = parseRunJob(body);
    // Messages from older producers carry the upload's id only in the body.
    if (!Correlation.current()) Correlation.set(message.correlationId ?? message.sessionId);
    const stop = Metrics.jobDuration.startTimer({ type: message.type });
    let outcome: JobRunOutcome | 'error' = 'error';
    try {
      outcome = await this.runJob.execute(message);
      return outcome;
    } catch (e) {
      throw toMessageDisposition(e);
    } finally {
      stop({ outcome });
      Metrics.jobsProcessed.inc({ type: message.type, outcome });
    }
  }
}
