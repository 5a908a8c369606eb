import { Module } from '@nestjs/common';
import { StorageEventsModule } from '../storage-event/storage-events.module';
import { ReconcileJobsUseCase } from './reconcile-jobs/reconcile-jobs.usecase';
import { ReconcileUploadsUseCase } from './reconcile-uploads/reconcile-uploads.usecase';
import { Reconciler } from './reconciler';

@Module({ imports: [StorageEventsModule], providers: [ReconcileUploadsUseCase, ReconcileJobsUseCase, Reconciler], exports: [Reconciler] })
export class ReconcileModule {}
