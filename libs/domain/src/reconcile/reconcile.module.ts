import { Module } from '@nestjs/common';
import { StorageEventsModule } from '../storage-event/storage-events.module';
import { ExpireUploadGroupsUseCase } from './expire-upload-groups/expire-upload-groups.usecase';
import { PruneDedupeUseCase } from './prune-dedupe/prune-dedupe.usecase';
import { PurgeFailedObjectsUseCase } from './purge-failed-objects/purge-failed-objects.usecase';
import { ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import { ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';
import { Reconciler } from './reconciler';

@Module({
  imports: [StorageEventsModule],
  providers: [ReconcileUploadsUseCase, ReconcileJobsUseCase, ExpireUploadGroupsUseCase, PurgeFailedObjectsUseCase, PruneDedupeUseCase, Reconciler],
  exports: [Reconciler],
})
export class ReconcileModule {}
