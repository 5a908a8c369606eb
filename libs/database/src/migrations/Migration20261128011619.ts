import { Migration } from '@mikro-orm/migrations';

export class Migration20261128011619 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "outbox_message" ("id" bigserial primary key, "exchange" text not null, "routing_key" text not null, "message_id" uuid not null, "payload" jsonb not null, "priority" smallint null, "headers" jsonb null, "created_at" timestamptz not null);`,
    );

    this.addSql(
      `create table "processed_storage_event" ("identity" text not null, "processed_at" timestamptz not null, constraint "processed_storage_event_pkey" primary key ("identity"));`,
    );

    this.addSql(`create table "app_user" ("id" text not null, "created_at" timestamptz not null, constraint "app_user_pkey" primary key ("id"));`);

    this.addSql(
      `create table "upload_group" ("id" uuid not null, "name" text not null, "description" text null, "user_id" text null, "status" text check ("status" in ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')) not null, "total_files" int not null, "completed_files" int not null, "failed_files" int not null, "upload_token_hash" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "upload_group_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "upload_group_user_id_created_at_id_index" on "upload_group" ("user_id", "created_at", "id");`);

    this.addSql(
      `create table "upload_session" ("id" uuid not null, "group_id" uuid null, "user_id" text null, "bucket" text not null, "object_key" text not null, "upload_id" text null, "status" text check ("status" in ('PENDING_UPLOAD', 'UPLOADING', 'UPLOADED', 'PROCESSING', 'COMPLETED', 'FAILED', 'DELETED')) not null, "filename" text not null, "content_type" text not null, "size" bigint not null, "checksum_sha256" text null, "etag" text null, "error" text null, "error_message" text null, "metadata" jsonb not null, "job_plan" jsonb not null, "total_parts" int not null, "completed_parts" int not null, "upload_token_hash" text null, "uploaded_at" timestamptz null, "expires_at" timestamptz not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, constraint "upload_session_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "upload_session" add constraint "upload_session_object_key_unique" unique ("object_key");`);
    this.addSql(`create index "upload_session_status_expires_at_index" on "upload_session" ("status", "expires_at");`);
    this.addSql(`create index "upload_session_group_id_index" on "upload_session" ("group_id");`);
    this.addSql(`create index "upload_session_user_id_created_at_id_index" on "upload_session" ("user_id", "created_at", "id");`);

    this.addSql(
      `create table "processing_job" ("id" uuid not null, "session_id" uuid not null, "type" text check ("type" in ('VALIDATION', 'CHECKSUM', 'METADATA', 'THUMBNAIL')) not null, "status" text check ("status" in ('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null, "priority" smallint not null, "required" boolean not null, "config" jsonb not null, "result" jsonb null, "error" text null, "attempts" int not null, "max_attempts" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, "run_after" timestamptz null, "locked_until" timestamptz null, constraint "processing_job_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "processing_job_status_locked_until_index" on "processing_job" ("status", "locked_until");`);
    this.addSql(`create index "processing_job_session_id_index" on "processing_job" ("session_id");`);

    this.addSql(
      `create table "file_part" ("id" uuid not null, "session_id" uuid not null, "part_number" int not null, "etag" text null, "size" bigint not null, "status" text check ("status" in ('PENDING', 'UPLOADING', 'UPLOADED', 'FAILED')) not null, "uploaded_at" timestamptz null, constraint "file_part_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "file_part" add constraint "file_part_session_id_part_number_unique" unique ("session_id", "part_number");`);

    this.addSql(
      `alter table "upload_group" add constraint "upload_group_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "upload_session" add constraint "upload_session_group_id_foreign" foreign key ("group_id") references "upload_group" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "upload_session" add constraint "upload_session_user_id_foreign" foreign key ("user_id") references "app_user" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "processing_job" add constraint "processing_job_session_id_foreign" foreign key ("session_id") references "upload_session" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "file_part" add constraint "file_part_session_id_foreign" foreign key ("session_id") references "upload_session" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "upload_group" drop constraint "upload_group_user_id_foreign";`);

    this.addSql(`alter table "upload_session" drop constraint "upload_session_user_id_foreign";`);

    this.addSql(`alter table "upload_session" drop constraint "upload_session_group_id_foreign";`);

    this.addSql(`alter table "processing_job" drop constraint "processing_job_session_id_foreign";`);

    this.addSql(`alter table "file_part" drop constraint "file_part_session_id_foreign";`);

    this.addSql(`drop table if exists "outbox_message" cascade;`);

    this.addSql(`drop table if exists "processed_storage_event" cascade;`);

    this.addSql(`drop table if exists "app_user" cascade;`);

    this.addSql(`drop table if exists "upload_group" cascade;`);

    this.addSql(`drop table if exists "upload_session" cascade;`);

    this.addSql(`drop table if exists "processing_job" cascade;`);

    this.addSql(`drop table if exists "file_part" cascade;`);
  }
}
