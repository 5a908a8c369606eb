import { Migration } from '@mikro-orm/migrations';

/**
 * The batched job path and the relay that publishes what it has just committed:
 * - `processing_job.lease_token`: a fresh token per claim; every write of a RUNNING job names it, so a processor
 *   that lost its lease (stopped, cut off from the database) can no longer renew, complete, fail or retry it.
 * - `outbox_message.claimed_until`: the process that wrote a row publishes it itself right after its commit and
 *   holds it until then; other relays take only rows nobody holds (their writer died, or could not publish).
 * - Checks under the jobs created in bulk from a session's plan (one statement for a batch of notifications): the
 *   invariants ProcessingJob's constructor enforces.
 */
export class Migration20261201140000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "processing_job" add column "lease_token" uuid null;`);
    this.addSql(`alter table "outbox_message" add column "claimed_until" timestamptz null;`);
    this.addSql(`alter table "processing_job" add constraint "processing_job_priority_check" check ("priority" between 1 and 10);`);
    this.addSql(`alter table "processing_job" add constraint "processing_job_max_attempts_check" check ("max_attempts" >= 1);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "processing_job" drop constraint "processing_job_max_attempts_check";`);
    this.addSql(`alter table "processing_job" drop constraint "processing_job_priority_check";`);
    this.addSql(`alter table "outbox_message" drop column "claimed_until";`);
    this.addSql(`alter table "processing_job" drop column "lease_token";`);
  }
}
