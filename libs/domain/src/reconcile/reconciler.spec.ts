import type { SqlDatabase } from '../ports/sql.port';
import type { ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import type { ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';
import { Reconciler } from './reconciler';

const settings = { batchSize: 10, graceMs: 1_000, stalePendingMs: 1_000, failedObjectRetentionMs: 0, dedupeRetentionMs: 86_400_000 };
/** A clean-up step with nothing to do. */
const idle = () => ({ execute: async () => ({}) }) as never;

function database(locked: boolean): SqlDatabase {
  return { withSessionLock: async <T>(_key: number, work: () => Promise<T>) => (locked ? work() : null) } as unknown as SqlDatabase;
}

describe('Reconciler', () => {
  it('runs its steps in order, sums their figures and counts the items each could not settle', async () => {
    const ran: string[] = [];
    const jobs = { name: 'jobs', run: async () => (ran.push('jobs'), { requeued: 2 }) } as unknown as ReconcileJobsUseCase;
    const uploads = {
      name: 'uploads',
      run: async (_: unknown, errors: { item(step: string, item: string, e: unknown): void }) => {
        ran.push('uploads');
        errors.item('uploads', 's1', new Error('HEAD failed'));
        errors.item('uploads', 's2', new Error('HEAD failed'));
        return { checked: 3, advanced: 1 };
      },
    } as unknown as ReconcileUploadsUseCase;
    const pass = await new Reconciler(database(true), jobs, uploads, idle(), idle(), idle()).runOnce(settings);
    expect(ran).toEqual(['jobs', 'uploads']);
    expect(pass).toEqual({ figures: { checked: 3, advanced: 1, expired: 0, requeued: 2, failed: 0, resent: 0 }, errors: { uploads: 2 } });
  });

  it('a step that throws as a whole is counted, and the next step still runs', async () => {
    const jobs = { name: 'jobs', run: async () => Promise.reject(new Error('statement timeout')) } as unknown as ReconcileJobsUseCase;
    const uploads = { name: 'uploads', run: async () => ({ checked: 1 }) } as unknown as ReconcileUploadsUseCase;
    const pass = await new Reconciler(database(true), jobs, uploads, idle(), idle(), idle()).runOnce(settings);
    expect(pass).toEqual({ figures: expect.objectContaining({ checked: 1 }), errors: { jobs: 1 } });
  });

  it('runs the clean-up steps after jobs and uploads; one that throws is counted under its name and the next still runs', async () => {
    const jobs = { name: 'jobs', run: async () => ({}) } as unknown as ReconcileJobsUseCase;
    const uploads = { name: 'uploads', run: async () => ({}) } as unknown as ReconcileUploadsUseCase;
    const groups = { execute: async () => ({ groupsExpired: 1 }) } as never;
    const purge = { execute: async () => Promise.reject(new Error('store down')) } as never;
    const prune = { execute: async () => ({ dedupePruned: 5 }) } as never;
    const pass = await new Reconciler(database(true), jobs, uploads, groups, purge, prune).runOnce(settings);
    expect(pass).toEqual({ figures: expect.objectContaining({ groupsExpired: 1, dedupePruned: 5 }), errors: { 'purge-failed-objects': 1 } });
  });

  it('does nothing while another replica holds the lock', async () => {
    const run = jest.fn();
    const step = { name: 'x', run } as unknown as ReconcileJobsUseCase & ReconcileUploadsUseCase;
    expect(await new Reconciler(database(false), step, step, idle(), idle(), idle()).runOnce(settings)).toBeNull();
    expect(run).not.toHaveBeenCalled();
  });
});
