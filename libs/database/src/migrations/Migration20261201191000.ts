import { Migration } from '@mikro-orm/migrations';

/**
 * `object_deleted_at`: when the reconciler removed what a FAILED session left in the store (its object, its
 * thumbnails, its multipart upload), so that it is done once. The reconciler's look for FAILED sessions still
 * holding bytes reads a partial index: the sessions already purged (nearly all of them) are not in it.
 */
export class Migration20261201191000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_session" add column "object_deleted_at" timestamptz null;`);
    this.addSql(
      `create index "upload_session_failed_unpurged_index" on "upload_session" ("updated_at") where "status" = 'FAILED' and "object_deleted_at" is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "upload_session_failed_unpurged_index";`);
    this.addSql(`alter table "upload_session" drop column "object_deleted_at";`);
  }
}
