import { Inject, Injectable, Logger } from '@nestjs/common';
import { JOB_TYPES, JobStatus } from '@app/contracts';
import { JobLedger } from '../../job/run-jobs/job-ledger';
import { JOB_QUEUES, JobQueues } from '../../ports/job-queues.port';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';
import type { ReconcileErrors, ReconcileStep } from '../reconcile-step';

export interface ReconcileJobsSettings {
  batchSize: number;
  /**
   * A PENDING job due for this long while its type's queue holds no ready message has lost its message
   * (dead-lettered, purged): it is sent again.
   */
  stalePendingMs: number;
}

export interface ReconcileJobsFigures {
  requeued: number;
  failed: number;
  resent: number;
}

/**
 * Jobs whose processor died: RUNNING past their lease go back to PENDING and are queued again (through the
 * outbox), or fail when that dead attempt was their last. PENDING jobs whose message was lost get it again —
 * only for job types whose queue is empty of ready messages, so a long backlog (messages waiting their turn)
 * is never duplicated. A replayed job message is harmless anyway: the claim is a compare-and-set. Each batch is its
 * own short transaction (sessions locked first, by id); one that fails is reported and the next goes on.
 */
@Injectable()
export class ReconcileJobsUseCase implements ReconcileStep {
  readonly name = 'jobs';
  private readonly logger = new Logger(ReconcileJobsUseCase.name);

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly ledger: JobLedger,
    @Inject(JOB_QUEUES) private readonly queues: JobQueues,
  ) {}

  async run(settings: ReconcileJobsSettings, errors: ReconcileErrors): Promise<ReconcileJobsFigures> {
    const figures: ReconcileJobsFigures = { requeued: 0, failed: 0, resent: 0 };
    try {
      const abandoned = await this.db.query<{ id: string }>(
        `select id from processing_job where status = $1 and locked_until < now() order by locked_until limit $2`,
        [JobStatus.RUNNING, settings.batchSize],
      );
      if (abandoned.length > 0) {
        const recovered = await this.ledger.recoverAbandoned(abandoned.map((j) => j.id));
        figures.requeued += recovered.requeued;
        figures.failed += recovered.failed;
        if (recovered.requeued + recovered.failed > 0) this.logger.warn({ msg: 'abandoned jobs recovered', ...recovered });
      }
    } catch (e) {
      errors.item(this.name, 'abandoned jobs', e);
    }
    for (const type of JOB_TYPES) {
      // Messages waiting their turn: nothing is lost while the queue still holds some (a backlog drains). Without
      // an answer from the broker, nothing is resent this pass.
      const ready = await this.queues.readyMessages(type).catch((e: unknown) => {
        this.logger.warn({ msg: 'queue depth unknown; lost job messages are looked for next pass', type, err: e instanceof Error ? e.message : String(e) });
        return null;
      });
      if (ready !== 0) continue;
      try {
        figures.resent += await this.ledger.resendLost(type, settings.stalePendingMs, settings.batchSize);
      } catch (e) {
        errors.item(this.name, `lost ${type} messages`, e);
      }
    }
    return figures;
  }
}
