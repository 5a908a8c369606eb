import { Inject, Injectable, Logger } from '@nestjs/common';
import { SQL_DATABASE, SqlDatabase } from '../ports/sql.port';
import { ExpireUploadGroupsFigures, ExpireUploadGroupsUseCase } from './expire-upload-groups/expire-upload-groups.usecase';
import { PruneDedupeFigures, PruneDedupeSettings, PruneDedupeUseCase } from './prune-dedupe/prune-dedupe.usecase';
import { PurgeFailedObjectsFigures, PurgeFailedObjectsSettings, PurgeFailedObjectsUseCase } from './purge-failed-objects/purge-failed-objects.usecase';
import { ReconcileJobsFigures, ReconcileJobsSettings, ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import { ReconcileErrors, ReconcileStep } from './reconcile-step';
import { ReconcileUploadsFigures, ReconcileUploadsSettings, ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';

export type ReconcilerSettings = ReconcileUploadsSettings & ReconcileJobsSettings & PurgeFailedObjectsSettings & PruneDedupeSettings;
export type ReconcilerFigures = ReconcileUploadsFigures &
  ReconcileJobsFigures &
  Partial<ExpireUploadGroupsFigures & PurgeFailedObjectsFigures & PruneDedupeFigures>;

/** What one pass did, and the items (or steps) it could not settle, per step. */
export interface ReconcilerPass {
  figures: ReconcilerFigures;
  errors: Record<string, number>;
}

/** WARNING: shared by every replica of every version; changing it lets two versions reconcile at once. */
const RECONCILER_LOCK_KEY = 0x75706c64; // 'upld'

/**
 * One reconciliation pass, by one replica at a time: a session-level Postgres advisory lock, held on a connection of
 * its own for the pass (released with that connection if this process dies), elects the runner; the others skip the
 * pass. No transaction spans the pass: each step commits item by item (see ReconcileStep), so one failing item (a
 * store error, a statement timeout, a deadlock) costs only itself. The steps are compare-and-sets anyway: the lock
 * saves work, correctness does not depend on it.
 *
 * To add a step: implement ReconcileStep, add its figures to ReconcilerFigures, and put it in `steps` (they run in
 * that order).
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);
  private readonly steps: readonly ReconcileStep[];

  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    jobs: ReconcileJobsUseCase,
    uploads: ReconcileUploadsUseCase,
    groups: ExpireUploadGroupsUseCase,
    failedObjects: PurgeFailedObjectsUseCase,
    dedupe: PruneDedupeUseCase,
  ) {
    this.steps = [
      jobs,
      uploads,
      // The clean-up steps: each runs its own short transactions; a failure of one is counted as the step's.
      { name: 'expire-upload-groups', run: (settings) => groups.execute(settings) },
      { name: 'purge-failed-objects', run: (settings) => failedObjects.execute(settings) },
      { name: 'prune-dedupe', run: (settings) => dedupe.execute(settings) },
    ];
  }

  /** null when another replica holds the lock. */
  async runOnce(settings: ReconcilerSettings): Promise<ReconcilerPass | null> {
    return this.db.withSessionLock(RECONCILER_LOCK_KEY, async () => {
      const pass: ReconcilerPass = { figures: { checked: 0, advanced: 0, expired: 0, requeued: 0, failed: 0, resent: 0 }, errors: {} };
      const errors: ReconcileErrors = {
        item: (step, item, error) => {
          pass.errors[step] = (pass.errors[step] ?? 0) + 1;
          this.logger.warn({ msg: 'reconciliation item failed; the pass goes on', step, item, err: error instanceof Error ? error.message : String(error) });
        },
      };
      for (const step of this.steps) {
        try {
          const figures = await step.run(settings, errors);
          for (const [k, v] of Object.entries(figures) as [keyof ReconcilerFigures, number][]) pass.figures[k] = (pass.figures[k] ?? 0) + v;
        } catch (e) {
          errors.item(step.name, '(step)', e);
        }
      }
      return pass;
    });
  }
}
