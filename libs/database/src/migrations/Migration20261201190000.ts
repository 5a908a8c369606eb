import { Migration } from '@mikro-orm/migrations';

/**
 * Groups expire: `expires_at` (set at creation from GROUP_EXPIRY_SECONDS, or the group's own
 * `expiresInSeconds`), and `error`, the reason of a group that ended FAILED for something other than its
 * files (EXPIRED). Groups that exist already get a day from their creation. The reconciler looks only at
 * open groups past their expiry: a partial index keeps that look cheap however many groups have ended.
 */
export class Migration20261201190000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_group" add column "expires_at" timestamptz null, add column "error" text null;`);
    this.addSql(`update "upload_group" set "expires_at" = "created_at" + interval '1 day';`);
    // The default serves raw inserts (seeders, benches); the gateway always writes its configured expiry.
    this.addSql(`alter table "upload_group" alter column "expires_at" set not null, alter column "expires_at" set default (now() + interval '1 day');`);
    this.addSql(`create index "upload_group_open_expires_at_index" on "upload_group" ("expires_at") where "status" in ('PENDING', 'IN_PROGRESS');`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "upload_group_open_expires_at_index";`);
    this.addSql(`alter table "upload_group" drop column "expires_at", drop column "error";`);
  }
}
