import { Migration } from '@mikro-orm/migrations';

/** Storage quota: what each user holds, and what each session holds of it. */
export class Migration20261128021500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "app_user" add column "reserved_bytes" bigint not null default 0;`);
    this.addSql(`alter table "upload_session" add column "quota_bytes" bigint not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "upload_session" drop column "quota_bytes";`);
    this.addSql(`alter table "app_user" drop column "reserved_bytes";`);
  }
}
