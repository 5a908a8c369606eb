import { MikroORM } from '@mikro-orm/postgresql';
import { randomUUID } from 'node:crypto';
import { FileStatus, JobStatus, JobType, PartStatus } from '@app/contracts';
import { ormConfig, PgSqlDatabase } from '@app/database';
import { decodeCursor, FilePart, ProcessingJob, toPage, UploadSession, UploadSessionQueries } from '@app/domain';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

/**
 * The read statements of the request path against real Postgres: the same fields as the entities MikroORM
 * hydrates, keyset pages that neither skip nor repeat, and a cursor Postgres uses as an index condition.
 */
describe('upload session queries (integration, Postgres)', () => {
  let orm: MikroORM;
  let queries: UploadSessionQueries;
  const captured: { text: string; values: unknown[] }[] = [];
  const user = `reader-${randomUUID()}`;
  const other = `other-${randomUUID()}`;
  const groupId = randomUUID();
  const sessions: UploadSession[] = [];
  const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

  class CapturingSql extends PgSqlDatabase {
    override query<R>(text: string, values: readonly unknown[] = []): Promise<R[]> {
      captured.push({ text, values: [...values] });
      return super.query<R>(text, values);
    }
  }

  function session(i: number, owner: string): UploadSession {
    const id = randomUUID();
    const s = new UploadSession({
      id,
      bucket: 'b',
      objectKey: `uploads/${id}/f${i}.bin`,
      filename: `f${i}.bin`,
      contentType: 'application/octet-stream',
      size: 1000 + i,
      userId: owner,
      groupId: i % 3 === 0 ? groupId : null,
      metadata: { n: String(i) },
      expiresAt: new Date(T0 + 86_400_000),
      jobPlan: [],
    });
    // Two sessions share each instant: the id breaks the tie, as in the cursor.
    s.createdAt = new Date(T0 + Math.floor(i / 2) * 1000);
    s.updatedAt = s.createdAt;
    s.status = i % 4 === 0 ? FileStatus.COMPLETED : FileStatus.PENDING_UPLOAD;
    return s;
  }

  beforeAll(async () => {
    orm = await MikroORM.init(ormConfig(testEnv().DATABASE_URL, { poolMax: 4 }));
    queries = new UploadSessionQueries(new CapturingSql(orm));
    const em = orm.em.fork();
    await em.execute('insert into app_user (id, created_at) values (?, now()), (?, now())', [user, other]);
    await em.execute(
      `insert into upload_group (id, name, user_id, status, total_files, file_count, completed_files, failed_files, created_at, updated_at)
                      values (?, 'g', ?, 'PENDING', 100, 0, 0, 0, now(), now())`,
      [groupId, user],
    );
    for (let i = 0; i < 60; i++) sessions.push(session(i, user));
    for (let i = 0; i < 5; i++) sessions.push(session(i, other));
    const first = sessions[0];
    first.totalParts = 3;
    first.uploadId = 'upload-1';
    first.uploadedAt = new Date(T0 + 5_000);
    em.persist(sessions);
    await em.flush();
    const job = (type: JobType, status: JobStatus, at: number) => {
      const j = new ProcessingJob({ sessionId: first.id, type, priority: 5, required: type === JobType.VALIDATION, maxAttempts: 3, config: { size: 64 } });
      j.status = status;
      j.createdAt = new Date(T0 + at);
      j.finishedAt = status === JobStatus.COMPLETED ? new Date(T0 + at + 500) : null;
      j.result = status === JobStatus.COMPLETED ? { key: 'thumbnails/x.webp', size: 10, width: 1, height: 1 } : null;
      return j;
    };
    em.persist([job(JobType.THUMBNAIL, JobStatus.COMPLETED, 2000), job(JobType.VALIDATION, JobStatus.RUNNING, 1000)]);
    const part = (n: number, status: PartStatus) => Object.assign(new FilePart({ sessionId: first.id, partNumber: n, size: 5 * 1024 * 1024 + n }), { status });
    em.persist([part(1, PartStatus.UPLOADED), part(2, PartStatus.UPLOADED), part(3, PartStatus.UPLOADING)]);
    await em.flush();
  });
  afterAll(() => orm?.close());

  it('details: the fields MikroORM would hydrate, the jobs oldest first, the uploaded parts summed', async () => {
    const first = sessions[0];
    const details = (await queries.details(first.id))!;
    const entity = await orm.em.fork().findOneOrFail(UploadSession, first.id);
    for (const [field, value] of Object.entries(details.session)) expect([field, value]).toEqual([field, entity[field as keyof UploadSession]]);
    const jobs = await orm.em.fork().find(ProcessingJob, { sessionId: first.id }, { orderBy: { createdAt: 'asc' } });
    expect(details.jobs).toHaveLength(2);
    for (const [i, job] of details.jobs.entries()) {
      for (const [field, value] of Object.entries(job)) expect([field, value]).toEqual([field, jobs[i][field as keyof ProcessingJob]]);
    }
    expect(details.parts).toEqual({ total: 3, uploaded: 2, uploadedBytes: 2 * 5 * 1024 * 1024 + 3 });
    expect(await queries.details(randomUUID())).toBeNull();
  });

  it('pages walk every session once, newest first, with and without filters', async () => {
    const walk = async (filter: { userId?: string; groupId?: string; status?: FileStatus }) => {
      const seen: string[] = [];
      let after = null;
      for (let guard = 0; guard < 100; guard++) {
        const page = toPage(await queries.page({ ...filter, after, limit: 7 }), 7);
        seen.push(...page.items.map((s) => s.id));
        if (!page.nextCursor) return seen;
        after = decodeCursor(page.nextCursor);
      }
      throw new Error('no end');
    };
    const newestFirst = (list: UploadSession[]) =>
      [...list].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1)).map((s) => s.id);
    const mine = sessions.filter((s) => s.userId === user);
    expect(await walk({ userId: user })).toEqual(newestFirst(mine));
    expect(await walk({ userId: user, status: FileStatus.COMPLETED })).toEqual(newestFirst(mine.filter((s) => s.status === FileStatus.COMPLETED)));
    expect(await walk({ groupId })).toEqual(newestFirst(sessions.filter((s) => s.groupId === groupId)));
  });

  it('a deep page reads no more rows than the first: the cursor is an index condition', async () => {
    // A user with 5,000 sessions (made in SQL), so that the planner works as it does at scale.
    const heavy = `heavy-${randomUUID()}`;
    const em = orm.em.fork();
    await em.execute('insert into app_user (id, created_at) values (?, now())', [heavy]);
    await em.execute(
      `insert into upload_session (id, user_id, bucket, object_key, status, filename, content_type, size, metadata, job_plan,
                                   total_parts, completed_parts, counted_in_group, expires_at, created_at, updated_at, version)
       select g.id, ?, 'b', 'uploads/' || g.id || '/f', 'PENDING_UPLOAD', 'f', 'text/plain', 1, '{}', '[]', 0, 0, false,
              g.at + interval '1 day', g.at, g.at, 1
         from (select gen_random_uuid() as id, timestamptz '2026-02-01 00:00:00+00' + make_interval(secs => i) as at
                 from generate_series(1, 5000) i) g`,
      [heavy],
    );
    await em.execute('analyze upload_session');
    const rowsRead = async (after: { createdAt: Date; id: string } | null) => {
      captured.length = 0;
      await queries.page({ userId: heavy, after, limit: 20 });
      const [{ text, values }] = captured;
      const literal = (v: unknown) => `'${v instanceof Date ? v.toISOString() : String(v)}'`;
      const [{ 'QUERY PLAN': plan }] = await em.execute<{ 'QUERY PLAN': unknown }[]>(
        `explain (analyze, format json) ${text.replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1]))}`,
      );
      const scans: { 'Node Type': string; 'Actual Rows': number; 'Index Cond'?: string; 'Rows Removed by Filter'?: number }[] = [];
      const visit = (node: Record<string, unknown>) => {
        if (String(node['Node Type']).includes('Scan')) scans.push(node as never);
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) visit(child);
      };
      visit((plan as { Plan: Record<string, unknown> }[])[0].Plan);
      return scans;
    };
    const [deep] = await em.execute<{ created_at: string; id: string }[]>(
      'select created_at, id from upload_session where user_id = ? order by created_at desc, id desc offset 4000 limit 1',
      [heavy],
    );
    const page1 = await rowsRead(null);
    const page201 = await rowsRead({ createdAt: new Date(deep.created_at), id: deep.id });
    expect(page201.some((scan) => /ROW\(created_at, id\) < ROW\(/.test(scan['Index Cond'] ?? ''))).toBe(true);
    for (const scan of page201) expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
    const read = (scans: typeof page1) => Math.max(...scans.map((scan) => scan['Actual Rows']));
    expect(read(page1)).toBe(21);
    expect(read(page201)).toBe(21);
  });
});
