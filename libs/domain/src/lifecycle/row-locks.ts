import { SESSION_COLUMNS, SessionRecord, toSessionRecord } from './records';
import type { Sql } from '../ports/sql.port';

/**
 * A CTE named `locked`: the sessions of the jobs a uuid[] parameter names, locked first and in id order (the
 * lock order every path follows: sessions → jobs → groups). The job path's statements open with it
 * (LifecycleWriter.claimJobs, settleJobs), so a transaction takes its session locks in its first statement.
 */
export function lockedSessionsOfJobs(jobIdsParam: string): string {
  return `locked as (
         select ${SESSION_COLUMNS} from upload_session s
          where s.id in (select session_id from processing_job where id = any(${jobIdsParam}::uuid[]))
          order by s.id for update of s
       )`;
}

/** The locking read that opens a transaction on jobs (the reconciler's recovery): their sessions, by id. */
export const RowLocks = Object.freeze({
  async sessionsOfJobs(sql: Sql, jobIds: string[]): Promise<Map<string, SessionRecord>> {
    const rows = await sql.query(`with ${lockedSessionsOfJobs('$1')} select * from locked`, [jobIds]);
    return new Map(rows.map((r) => [r.id as string, toSessionRecord(r)]));
  },
});
