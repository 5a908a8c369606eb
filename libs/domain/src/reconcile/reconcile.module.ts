import { Module } from '@nestjs/common';
import { StorageEventsModule } from '../storage-event/storage-events.module';
import { ExpireUploadGroupsUseCase } from './expire-upload-groups/expire-upload-groups.usecase';
import { ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import { ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';
import { Reconciler } from './reconciler';

@Module({ imports: [StorageEventsModule], providers: [ReconcileUploadsUseCase, ReconcileJobsUseCase, ExpireUploadGroupsUseCase, Reconciler], exports: [Reconciler] })
export class ReconcileModule {}
