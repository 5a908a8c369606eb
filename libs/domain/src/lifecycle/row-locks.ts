import { SESSION_COLUMNS, SessionRecord, toSessionRecord } from './records';
import type { Sql } from '../ports/sql.port';

/**
 * The locking reads that open the batched transactions: session rows first, in id order (the lock order every
 * path follows: sessions → jobs → groups), returned by id.
 */
export const RowLocks = Object.freeze({
  sessionsById(sql: Sql, ids: string[]): Promise<Map<string, SessionRecord>> {
    return lock(sql, `s.id = any($1::uuid[])`, [ids]);
  },

  sessionsOfJobs(sql: Sql, jobIds: string[]): Promise<Map<string, SessionRecord>> {
    return lock(sql, `s.id in (select session_id from processing_job where id = any($1::uuid[]))`, [jobIds]);
  },

  /** By object key, or by session id for a store that mangled a key (our keys start with the session id). */
  sessionsOfObjects(sql: Sql, objectKeys: string[], sessionIds: string[]): Promise<Map<string, SessionRecord>> {
    return lock(sql, `s.object_key = any($1::text[]) or s.id = any($2::uuid[])`, [objectKeys, sessionIds]);
  },
});

async function lock(sql: Sql, where: string, values: unknown[]): Promise<Map<string, SessionRecord>> {
  const rows = await sql.query(`select ${SESSION_COLUMNS} from upload_session s where ${where} order by s.id for update of s`, values);
  return new Map(rows.map((r) => [r.id as string, toSessionRecord(r)]));
}
