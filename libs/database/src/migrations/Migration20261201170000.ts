import { Migration } from '@mikro-orm/migrations';

/** Manual retries of a job (POST /v1/jobs/:id/retry), bounded for callers who are not admins (issue 16). */
export class Migration20261201170000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "processing_job" add column "manual_retries" int not null default 0;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "processing_job" drop column "manual_retries";`);
  }
}
