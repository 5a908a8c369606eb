import { Migration } from '@mikro-orm/migrations';

/**
 * The notification dedupe table is pruned by age (STORAGE_EVENT_DEDUPE_RETENTION_SECONDS): an index on
 * `processed_at` lets each small batch find its oldest rows without reading the table.
 */
export class Migration20261201192000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists "processed_storage_event_processed_at_index" on "processed_storage_event" ("processed_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "processed_storage_event_processed_at_index";`);
  }
}
