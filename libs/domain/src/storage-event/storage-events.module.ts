import { Module } from '@nestjs/common';
import { ApplyStorageEventUseCase } from './apply-storage-event/apply-storage-event.usecase';
import { STORAGE_EVENT_STORE } from './storage-event-store.port';
import { StorageEventRepository } from './storage-event.repository';

@Module({ providers: [ApplyStorageEventUseCase, { provide: STORAGE_EVENT_STORE, useClass: StorageEventRepository }], exports: [ApplyStorageEventUseCase] })
export class StorageEventsModule {}
