import { Migration } from '@mikro-orm/migrations';

/**
 * Rate-limit counts shared by the gateway replicas (apps/upload-gateway/src/rate-limit): hits per caller key and
 * time bucket. UNLOGGED: counts are not worth a WAL write, and after a crash they may start from zero.
 */
export class Migration20261201150000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create unlogged table "rate_limit_hits" ("key" text not null, "bucket" bigint not null, "hits" int not null, "expires_at" bigint not null, constraint "rate_limit_hits_pkey" primary key ("key", "bucket"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "rate_limit_hits";`);
  }
}
