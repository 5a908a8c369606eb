import { Migration } from '@mikro-orm/migrations';

/**
 * Part rows are created lazily (issue 16, MEDIUM 4): a multipart session keeps its part size, so the exact length of
 * any part is known without a `file_part` row (partLength(size, partSize, totalParts)). 0: no plan of ours (single
 * PUT, or the client chooses its parts: Uppy). Sessions still taking parts get the size their part 1 row was planned
 * with (or their whole size when they have one part); their rows stay as they are.
 */
export class Migration20261202060000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "upload_session" add column "part_size" bigint not null default 0;`);
    this.addSql(`update "upload_session" s set "part_size" = case when s."total_parts" = 1 then s."size" else p."size" end
      from "file_part" p
      where p."session_id" = s."id" and p."part_number" = 1 and s."upload_id" is not null and s."total_parts" > 0 and s."size" is not null
        and s."status" in ('PENDING_UPLOAD', 'UPLOADING');`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "upload_session" drop column "part_size";`);
  }
}
