import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, StorageEventsConfig } from '@app/config';
import { Counter } from 'prom-client';
import { Reconciler } from '@app/domain';

/** WARNING: dashboards and alerts query this name. */
const reconcilerErrors = new Counter({
  name: 'reconciler_errors_total',
  help: 'Items (or whole steps) a reconciliation pass could not settle, by step; the pass went on with the others',
  labelNames: ['step'] as const,
});

/** WARNING: dashboards and tests query this name. Passes this replica ran to their end (not skipped for another's lock). */
const reconcilerPasses = new Counter({ name: 'reconciler_passes_total', help: 'Reconciliation passes this replica ran to their end' });

/**
 * Runs a reconciliation pass every RECONCILER_INTERVAL_SECONDS (every replica schedules it; one at a
 * time runs it). An item a pass cannot settle is logged and counted (`reconciler_errors_total`) and the pass goes on;
 * a pass that cannot start (database down) is logged and tried again at the next tick.
 */
@Injectable()
export class ReconcilerScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Reconciler');
  private timer?: NodeJS.Timeout;
  private pass: Promise<void> | null = null;

  constructor(
    // Used by @CreateRequestContext: every pass gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly reconciler: Reconciler,
    @Inject(APP_CONFIG) private readonly config: StorageEventsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.reconciler.intervalMs === 0) return;
    this.timer = setInterval(() => this.tick(), this.config.reconciler.intervalMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.pass;
  }

  private tick(): void {
    if (this.pass) return;
    this.pass = this.runOnce()
      .catch((e: unknown) => this.logger.warn({ msg: 'reconciliation pass failed; next tick retries', err: e instanceof Error ? e.message : String(e) }))
      .finally(() => (this.pass = null));
  }

  @CreateRequestContext()
  private async runOnce(): Promise<void> {
    const pass = await this.reconciler.runOnce(this.config.reconciler);
    if (!pass) return;
    reconcilerPasses.inc();
    for (const [step, n] of Object.entries(pass.errors)) reconcilerErrors.inc({ step }, n);
    const { figures, errors } = pass;
    if (
      figures.advanced ||
      figures.expired ||
      figures.requeued ||
      figures.failed ||
      figures.resent ||
      figures.groupsExpired ||
      figures.failedObjectsDeleted ||
      figures.dedupePruned ||
      Object.keys(errors).length > 0
    ) {
      this.logger.log({ msg: 'reconciliation pass', ...figures, errors });
    }
  }
}
