import { EntityManager } from '@mikro-orm/postgresql';
import { PartStatus } from '@app/contracts';
import { UploadGroup } from './upload-group.entity';

/** A group with the byte figures of its progress. */
export interface GroupView {
  group: UploadGroup;
  /** Declared sizes of the group's files, summed. */
  bytesExpected: number;
  /** Bytes in storage: whole files that arrived, plus the uploaded parts of multipart files still going up. */
  bytesUploaded: number;
}

/** Byte figures of several groups in one query (groups without sessions get zeros). */
export async function withBytes(em: EntityManager, groups: UploadGroup[]): Promise<GroupView[]> {
  if (groups.length === 0) return [];
  const rows: { group_id: string; expected: string | number; uploaded: string | number }[] = await em.execute(
    `select s.group_id,
            sum(s.size) as expected,
            sum(case when s.uploaded_at is not null then s.size
                     else coalesce((select sum(p.size) from file_part p where p.session_id = s.id and p.status = ?), 0) end) as uploaded
       from upload_session s
      where s.group_id in (${groups.map(() => '?').join(', ')})
      group by s.group_id`,
    [PartStatus.UPLOADED, ...groups.map((g) => g.id)],
  );
  const byId = new Map(rows.map((r) => [r.group_id, { expected: Number(r.expected), uploaded: Number(r.uploaded) }]));
  return groups.map((group) => ({ group, bytesExpected: byId.get(group.id)?.expected ?? 0, bytesUploaded: byId.get(group.id)?.uploaded ?? 0 }));
}
