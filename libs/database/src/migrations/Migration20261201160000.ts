import { Migration } from '@mikro-orm/migrations';

/**
 * Outgoing webhooks: subscriptions (owned like uploads, signing secrets, health) and their deliveries
 * (one per subscription and event, retried by the delivering app).
 */
export class Migration20261201160000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "webhook_subscription" (
      "id" uuid not null,
      "user_id" text not null,
      "scope" text check ("scope" in ('own', 'all')) not null default 'own',
      "url" text not null,
      "events" text[] not null,
      "description" text null,
      "enabled" boolean not null default true,
      "disabled_reason" text null check ("disabled_reason" in ('GONE', 'FAILING')),
      "disabled_at" timestamptz null,
      "secret" text not null,
      "previous_secret" text null,
      "previous_secret_expires_at" timestamptz null,
      "failing_since" timestamptz null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "webhook_subscription_pkey" primary key ("id"),
      constraint "webhook_subscription_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete cascade,
      constraint "webhook_subscription_events_check" check (cardinality("events") > 0)
    );`);
    this.addSql(`create index "webhook_subscription_user_id_created_at_id_index" on "webhook_subscription" ("user_id", "created_at", "id");`);
    // Fan-out looks up the enabled subscriptions of one user, and the few of scope 'all'.
    this.addSql(`create index "webhook_subscription_enabled_user_index" on "webhook_subscription" ("user_id") where "enabled";`);
    this.addSql(`create index "webhook_subscription_enabled_all_index" on "webhook_subscription" ("id") where "enabled" and "scope" = 'all';`);

    this.addSql(`create table "webhook_delivery" (
      "id" uuid not null,
      "subscription_id" uuid not null,
      "event_id" uuid not null,
      "event_type" text not null,
      "payload" text not null,
      "status" text check ("status" in ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')) not null,
      "attempts" int not null default 0,
      "run_attempts" int not null default 0,
      "next_attempt_at" timestamptz null,
      "last_attempt_at" timestamptz null,
      "last_status_code" smallint null,
      "last_latency_ms" int null,
      "last_error" text null,
      "delivered_at" timestamptz null,
      "created_at" timestamptz not null,
      "updated_at" timestamptz not null,
      constraint "webhook_delivery_pkey" primary key ("id"),
      constraint "webhook_delivery_subscription_id_foreign" foreign key ("subscription_id") references "webhook_subscription" ("id") on update cascade on delete cascade,
      constraint "webhook_delivery_subscription_id_event_id_unique" unique ("subscription_id", "event_id"),
      constraint "webhook_delivery_due_check" check ("status" in ('DELIVERED', 'FAILED') or "next_attempt_at" is not null)
    );`);
    this.addSql(`create index "webhook_delivery_subscription_id_created_at_id_index" on "webhook_delivery" ("subscription_id", "created_at", "id");`);
    // The dispatcher's look for due work (and the per-subscription in-flight count) touch only unfinished deliveries.
    this.addSql(`create index "webhook_delivery_due_index" on "webhook_delivery" ("next_attempt_at") where "status" in ('PENDING', 'SENDING');`);
    this.addSql(
      `create index "webhook_delivery_unfinished_index" on "webhook_delivery" ("subscription_id", "status", "next_attempt_at") where "status" in ('PENDING', 'SENDING');`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_delivery" cascade;`);
    this.addSql(`drop table if exists "webhook_subscription" cascade;`);
  }
}
