import { Migration } from '@mikro-orm/migrations';

/** Checksums computed by the CHECKSUM job, kept on the session (hex digests of the stored object). */
export class Migration20261128030000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_session" add column "sha256" text null, add column "md5" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "upload_session" drop column "sha256", drop column "md5";`);
  }
}
