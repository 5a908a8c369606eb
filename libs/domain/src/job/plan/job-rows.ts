import { randomUUID } from 'node:crypto';
import { JobStatus } from '@app/contracts';
import { JobRecord, JOB_COLUMNS, toJobRecord } from '../../lifecycle/records';
import type { Sql } from '../../ports/sql.port';
import { JobSpec } from './job-spec';

/** The invariants ProcessingJob's constructor enforces, for jobs created in bulk. */
export function assertJobSpec(spec: Pick<JobSpec, 'priority' | 'maxAttempts'>): void {
  if (!Number.isInteger(spec.priority) || spec.priority < 1 || spec.priority > 10) throw new Error('ProcessingJob.priority must be 1..10');
  if (!Number.isInteger(spec.maxAttempts) || spec.maxAttempts < 1) throw new Error('ProcessingJob.maxAttempts must be >= 1');
}

/** Creates the planned jobs of sessions (PENDING), one statement for all of them. */
export async function insertJobs(sql: Sql, jobs: { sessionId: string; spec: JobSpec }[]): Promise<JobRecord[]> {
  if (jobs.length === 0) return [];
  for (const j of jobs) assertJobSpec(j.spec);
  const rows = await sql.query(
    `insert into processing_job as j (id, session_id, type, status, priority, required, config, attempts, max_attempts, created_at, updated_at)
     select v.id, v.session_id, v.type, $8, v.priority, v.required, v.config, 0, v.max_attempts, now(), now()
       from unnest($1::uuid[], $2::uuid[], $3::text[], $4::smallint[], $5::boolean[], $6::jsonb[], $7::int[]) as v(id, session_id, type, priority, required, config, max_attempts)
     returning ${JOB_COLUMNS}`,
    [
      jobs.map(() => randomUUID()),
      jobs.map((j) => j.sessionId),
      jobs.map((j) => j.spec.type),
      jobs.map((j) => j.spec.priority),
      jobs.map((j) => j.spec.required),
      jobs.map((j) => JSON.stringify(j.spec.config ?? {})),
      jobs.map((j) => j.spec.maxAttempts),
      JobStatus.PENDING,
    ],
  );
  return rows.map(toJobRecord);
}
