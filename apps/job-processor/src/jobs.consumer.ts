import { Controller, UseFilters } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { JOB_TYPES, JobType, MessagePattern, RunJobV1 } from '@app/contracts';
import { JobRunner, JobRunOutcome, OutcomeNotRecorded, ProcessorStopping } from '@app/domain';
import { AmqpConnection, DeadLetter, PassThroughRpcExceptions, RetryLater, toMessageDisposition } from '@app/messaging';
import { Correlation, Metrics } from '@app/observability';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseRunJob(body: unknown): RunJobV1 {
  const b = body as Partial<RunJobV1> | null;
  if (!b || typeof b !== 'object' || b.version !== 1 || typeof b.jobId !== 'string' || !UUID.test(b.jobId) || !JOB_TYPES.includes(b.type as JobType)) {
    throw new DeadLetter('not a RunJobV1 message (version 1, jobId uuid, known type)');
  }
  return b as RunJobV1;
}

/** Job messages in → jobs run (in batches, by JobRunner), outcomes recorded, sessions settled; acked once recorded. */
@Controller()
@UseFilters(PassThroughRpcExceptions)
export class JobsConsumer {
  constructor(
    private readonly runner: JobRunner,
    amqp: AmqpConnection,
  ) {
    // Before the last publishes at shutdown: jobs given back (their messages go out through the outbox), including
    // those claimed with a sibling and waiting for no message of their own.
    amqp.onDrain(() => this.runner.idle(), 'work');
  }

  @EventPattern(MessagePattern.RunJob)
  async handle(@Payload() body: unknown): Promise<JobRunOutcome> {
    const message = parseRunJob(body);
    // Messages from older producers carry the upload's id only in the body.
    if (!Correlation.current()) Correlation.set(message.correlationId ?? message.sessionId);
    const stop = Metrics.jobDuration.startTimer({ type: message.type });
    let outcome: JobRunOutcome | 'error' = 'error';
    try {
      outcome = await this.runner.run(message);
      return outcome;
    } catch (e) {
      // Back to the queue at once: the process is stopping, or the claim decides again (its lease ran out unrecorded).
      if (e instanceof ProcessorStopping || e instanceof OutcomeNotRecorded) throw new RetryLater(e.message, 0);
      throw toMessageDisposition(e);
    } finally {
      stop({ outcome });
      Metrics.jobsProcessed.inc({ type: message.type, outcome });
    }
  }
}
