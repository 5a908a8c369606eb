import { Migration } from '@mikro-orm/migrations';

/**
 * A manual retry keeps the attempt history: `attempts` keeps counting and `max_attempts` (the total the job may
 * make) grows by the job's budget per run, kept in `attempt_budget` from its first manual retry on (null until
 * then: the budget is `max_attempts`). Raw inserts of jobs need no change.
 */
export class Migration20261201193000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "processing_job" add column "attempt_budget" int null;`);
    this.addSql(`alter table "processing_job" add constraint "processing_job_attempt_budget_check" check ("attempt_budget" is null or "attempt_budget" >= 1);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "processing_job" drop constraint "processing_job_attempt_budget_check";`);
    this.addSql(`alter table "processing_job" drop column "attempt_budget";`);
  }
}
