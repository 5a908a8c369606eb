import { Migration } from '@mikro-orm/migrations';

/**
 * Upload groups: a race-safe slot counter (`file_count`, never above `total_files`) and a per-session marker
 * that the group's counters include the session's final status (counted once, whatever replays happen).
 */
export class Migration20261128020100 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_group" add column "file_count" int not null default 0;`);
    this.addSql(`update "upload_group" g set "file_count" = (select count(*) from "upload_session" s where s."group_id" = g."id");`);
    this.addSql(`alter table "upload_group" alter column "file_count" drop default;`);
    this.addSql(`alter table "upload_group" add constraint "upload_group_file_count_check" check ("file_count" >= 0 and "file_count" <= "total_files");`);
    this.addSql(
      `alter table "upload_group" add constraint "upload_group_counters_check" check ("completed_files" >= 0 and "failed_files" >= 0 and "completed_files" + "failed_files" <= "total_files");`,
    );

    this.addSql(`alter table "upload_session" add column "counted_in_group" boolean not null default false;`);
    this.addSql(`update "upload_session" set "counted_in_group" = true where "group_id" is not null and "status" in ('COMPLETED', 'FAILED', 'DELETED');`);
    this.addSql(`alter table "upload_session" alter column "counted_in_group" drop default;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "upload_session" drop column "counted_in_group";`);
    this.addSql(`alter table "upload_group" drop constraint "upload_group_counters_check";`);
    this.addSql(`alter table "upload_group" drop constraint "upload_group_file_count_check";`);
    this.addSql(`alter table "upload_group" drop column "file_count";`);
  }
}
