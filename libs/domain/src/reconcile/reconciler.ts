import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { ExpireUploadGroupsFigures, ExpireUploadGroupsUseCase } from './expire-upload-groups/expire-upload-groups.usecase';
import { PruneDedupeFigures, PruneDedupeSettings, PruneDedupeUseCase } from './prune-dedupe/prune-dedupe.usecase';
import { PurgeFailedObjectsFigures, PurgeFailedObjectsSettings, PurgeFailedObjectsUseCase } from './purge-failed-objects/purge-failed-objects.usecase';
import { ReconcileJobsFigures, ReconcileJobsSettings, ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import { ReconcileUploadsFigures, ReconcileUploadsSettings, ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';

export type ReconcilerSettings = ReconcileUploadsSettings & ReconcileJobsSettings & PurgeFailedObjectsSettings & PruneDedupeSettings;
export type ReconcilerFigures = ReconcileUploadsFigures & ReconcileJobsFigures & Partial<ExpireUploadGroupsFigures & PurgeFailedObjectsFigures & PruneDedupeFigures>;

/** WARNING: shared by every replica of every version; changing it lets two versions reconcile at once. */
const RECONCILER_LOCK_KEY = 0x75706c64; // 'upld'

/**
 * One reconciliation pass, by one replica at a time: a Postgres advisory lock (held by a transaction for
 * the pass, so it is released even if this process dies) elects the runner; the others skip the pass.
 * The steps are compare-and-sets anyway: the lock saves work, correctness does not depend on it.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);
  constructor(
    private readonly em: EntityManager,
    private readonly uploads: ReconcileUploadsUseCase,
    private readonly jobs: ReconcileJobsUseCase,
    private readonly groups: ExpireUploadGroupsUseCase,
    private readonly failedObjects: PurgeFailedObjectsUseCase,
    private readonly dedupe: PruneDedupeUseCase,
  ) {}

  /** A lifecycle step added to the pass: its failure is logged and never stops the other steps. */
  private async step<F>(name: string, run: () => Promise<F>): Promise<F | Record<string, never>> {
    try {
      return await run();
    } catch (e) {
      this.logger.warn({ msg: 'reconciler step failed; the next pass retries it', step: name, err: e instanceof Error ? e.message : String(e) });
      return {};
    }
  }

  /** null when another replica holds the lock. */
  async runOnce(settings: ReconcilerSettings): Promise<ReconcilerFigures | null> {
    return this.em.fork().transactional(async (lockHolder) => {
      const [{ locked }] = await lockHolder.execute<{ locked: boolean }[]>('select pg_try_advisory_xact_lock(?) as locked', [RECONCILER_LOCK_KEY]);
      if (!locked) return null;
      const jobs = await this.jobs.execute(settings);
      const uploads = await this.uploads.execute(settings);
      const groups = await this.step('expire-upload-groups', () => this.groups.execute(settings));
      const purged = await this.step('purge-failed-objects', () => this.failedObjects.execute(settings));
      const pruned = await this.step('prune-dedupe', () => this.dedupe.execute(settings));
      return { ...uploads, ...jobs, ...groups, ...purged, ...pruned };
    });
  }
}
