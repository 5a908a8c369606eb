import { Migration } from '@mikro-orm/migrations';

/**
 * Instant uploads (POST /v1/uploads/check, ifExists "reuse"): the owner's COMPLETED sessions by content.
 * Partial (COMPLETED, with a checksum VALIDATION verified) and not unique: one owner may hold the same content
 * several times. The newest first, the id carried along, so a lookup is an index-only probe per file.
 */
export class Migration20261201200000 extends Migration {
  override async up(): Promise<void> {
    this
      .addSql(`create index "upload_session_completed_content_index" on "upload_session" ("user_id", "checksum_sha256", "size", "created_at" desc) include ("id")
      where "status" = 'COMPLETED' and "checksum_sha256" is not null and "user_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "upload_session_completed_content_index";`);
  }
}
