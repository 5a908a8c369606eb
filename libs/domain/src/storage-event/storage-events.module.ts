import { Module } from '@nestjs/common';
import { ApplyStorageEventUseCase } from './apply-storage-event/apply-storage-event.usecase';

@Module({ providers: [ApplyStorageEventUseCase], exports: [ApplyStorageEventUseCase] })
export class StorageEventsModule {}
