import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { amqpPriorityOf, DomainEventV1, jobRoutingKey, JobType, RunJobV1, Topology } from '@app/contracts';
import { testEnv } from './test-env';

export interface SeededJob {
  jobId: string;
  sessionId: string;
  objectKey: string;
}

/**
 * Direct access to the test database, for arranging large or odd worlds quickly (hundreds of uploaded
 * sessions with their jobs) and for reading what the API does not show. The apps still do all the work:
 * seeded jobs reach a processor only as outbox rows that a running app's relay publishes.
 */
export class TestDb {
  readonly pool = new Pool({ connectionString: testEnv().DATABASE_URL, max: 4 });

  /**
   * Uploaded sessions (status UPLOADED, anonymous, unreachable through the API) each with one job of `type`,
   * and the job's RunJobV1 message in the outbox — as the storage-events app would have written them.
   */
  async seedUploadedJobs(
    n: number,
    opts: { type: JobType; priority: number; maxAttempts?: number; required?: boolean; objectKey?: (sessionId: string) => string; size?: number },
  ): Promise<SeededJob[]> {
    const rows: SeededJob[] = Array.from({ length: n }, () => {
      const sessionId = randomUUID();
      return { sessionId, jobId: randomUUID(), objectKey: opts.objectKey?.(sessionId) ?? `uploads/${sessionId}/seeded.bin` };
    });
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      await client.query(
        `insert into upload_session (id, bucket, object_key, status, filename, content_type, size, metadata, job_plan, total_parts, completed_parts, counted_in_group, uploaded_at, expires_at, created_at, updated_at, version)
         select s.id, $2, s.key, 'UPLOADED', 'seeded.bin', 'application/octet-stream', $3, '{}', '[]', 0, 0, false, now(), now() + interval '1 day', now(), now(), 1
         from unnest($1::uuid[], $4::text[]) as s(id, key)`,
        [rows.map((r) => r.sessionId), testEnv().S3_BUCKET, opts.size ?? 1, rows.map((r) => r.objectKey)],
      );
      await client.query(
        `insert into processing_job (id, session_id, type, status, priority, required, config, attempts, max_attempts, created_at, updated_at)
         select j.id, j.sid, $3, 'PENDING', $4, $5, '{}', 0, $6, now(), now() from unnest($1::uuid[], $2::uuid[]) as j(id, sid)`,
        [rows.map((r) => r.jobId), rows.map((r) => r.sessionId), opts.type, opts.priority, opts.required ?? true, opts.maxAttempts ?? 3],
      );
      const bodies = rows.map((r): RunJobV1 => ({ version: 1, jobId: r.jobId, sessionId: r.sessionId, type: opts.type, correlationId: r.sessionId }));
      await client.query(
        `insert into outbox_message (exchange, routing_key, message_id, payload, priority, created_at)
         select $1, $2, gen_random_uuid(), p, $4, now() from unnest($3::jsonb[]) as p`,
        [Topology.jobsExchange, jobRoutingKey(opts.type, opts.priority), bodies.map((b) => JSON.stringify(b)), amqpPriorityOf(opts.priority)],
      );
      await client.query('commit');
    } catch (e) {
      await client.query('rollback');
      throw e;
    } finally {
      client.release();
    }
    return rows;
  }

  async jobs(
    ids: string[],
  ): Promise<
    { id: string; status: string; attempts: number; error: string | null; created_at: Date; started_at: Date | null; finished_at: Date | null; result: any }[]
  > {
    const r = await this.pool.query(
      'select id, status, attempts, error, created_at, started_at, finished_at, result from processing_job where id = any($1::uuid[])',
      [ids],
    );
    return r.rows;
  }

  async session(id: string): Promise<{ id: string; status: string; sha256: string | null; md5: string | null } & Record<string, unknown>> {
    const r = await this.pool.query('select * from upload_session where id = $1', [id]);
    return r.rows[0];
  }

  /**
   * Domain events as outbox rows nobody holds yet, as a writer that committed them (and then died) leaves them:
   * a running app's relay publishes them, and records them as webhook deliveries when it retires the rows.
   */
  async outboxDomainEvents(events: DomainEventV1[]): Promise<void> {
    await this.pool.query(
      `with rows as (
         insert into outbox_message (exchange, routing_key, message_id, payload, priority, created_at)
         select $1, p->>'type', (p->>'id')::uuid, p, null, now() from unnest($2::jsonb[]) as p
         returning 1
       )
       select pg_notify('outbox_message', count(*)::text) from rows`,
      [testEnv().DOMAIN_EVENTS_EXCHANGE, events.map((e) => JSON.stringify(e))],
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
