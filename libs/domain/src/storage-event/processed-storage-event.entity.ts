import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Identity of every storage notification applied within the retention (STORAGE_EVENT_DEDUPE_RETENTION_SECONDS):
 * a replay finds its row and changes nothing. Older rows are pruned by the reconciler (PruneDedupeUseCase).
 */
@Entity({ tableName: 'processed_storage_event' })
@Index({ name: 'processed_storage_event_processed_at_index', properties: ['processedAt'] })
export class ProcessedStorageEvent {
  /** bucket/key/event kind/eTag/sequencer (see StorageObjectEvent.identity). */
  @PrimaryKey({ type: 'text' })
  identity: string;

  @Property({ type: 'timestamptz' })
  processedAt: Date = new Date();

  constructor(identity: string) {
    this.identity = identity;
  }
}
