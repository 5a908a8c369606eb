import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** Identity of every storage notification already applied: a replay finds its row and changes nothing. */
@Entity({ tableName: 'processed_storage_event' })
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
