import { Migration } from '@mikro-orm/migrations';

/** Multipart uploads: find a session by the store's upload id; a size the client did not declare (Uppy's S3 routes). */
export class Migration20261128020000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_session" alter column "size" drop not null;`);
    this.addSql(`create index "upload_session_upload_id_index" on "upload_session" ("upload_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "upload_session_upload_id_index";`);
    this.addSql(`update "upload_session" set "size" = 0 where "size" is null;`);
    this.addSql(`alter table "upload_session" alter column "size" set not null;`);
  }
}
