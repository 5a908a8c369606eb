import { DefaultLogger, LogContext, LoggerOptions } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import autocannon from 'autocannon';
import { ormConfig } from '@app/database';
import { MIGRATIONS } from '../../../libs/database/src/migrations';
import { Actor, GetUploadUseCase, ListUploadsUseCase, Sql, SqlStatement, UploadSessionQueries } from '@app/domain';
import { startApp, stopProcess } from '../apps';
import { call, tokenFor } from '../client';
import { freshDatabase, NS, PORTS, psql, scaleDatabaseUrl } from '../env';
import { BenchContext, Section, table, Target } from '../report';
import { Figure, figure, fmt, fmtFigure } from '../stats';

/** Sessions per user: a user's listing walks 1,000 sessions, in --quick as in the full run. */
const PER_USER = 1000;
const USER = 'user-7';

/** A million sessions (in --quick fewer), made once with INSERT … SELECT generate_series and kept for the next run. */
function ensureData(SCALE_DATABASE_URL: string, rows: number, log: (m: string) => void): void {
  const USERS = rows / PER_USER;
  const latest = MIGRATIONS[MIGRATIONS.length - 1].name;
  let current = '';
  try {
    current = psql(SCALE_DATABASE_URL, `select (select count(*) from upload_session) || '|' || (select count(*) from app_user) || '|' || (select count(*) > 0 from file_part) || '|' || (select max(name) from mikro_orm_migrations)`);
  } catch {
    // no database yet
  }
  if (current === `${rows}|${USERS}|true|${latest}`) return log(`  reusing ${fmt(rows, 0)} sessions in ${new URL(SCALE_DATABASE_URL).pathname.slice(1)}`);
  const t0 = Date.now();
  freshDatabase(SCALE_DATABASE_URL);
  psql(
    SCALE_DATABASE_URL,
    `insert into app_user (id, created_at) select 'user-' || u, now() from generate_series(0, ${USERS - 1}) u;
     insert into upload_session (id, user_id, bucket, object_key, status, filename, content_type, size, metadata, job_plan,
                                 total_parts, completed_parts, counted_in_group, uploaded_at, expires_at, created_at, updated_at, version)
     select id, 'user-' || (i % ${USERS}), 'uploads-${NS}', 'uploads/' || id || '/file-' || i || '.bin',
            (array['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'PENDING_UPLOAD'])[1 + i % 5], 'file-' || i || '.bin',
            'application/octet-stream', 4096 + i % 1000, '{}',
            '[{"type":"VALIDATION","priority":5,"maxAttempts":3,"required":true,"config":{}}]', 0, 0, false,
            case when i % 5 = 4 then null else ts end, ts + interval '1 day', ts, ts, 1
     from (select i, gen_random_uuid() as id, now() - make_interval(secs => i) as ts from generate_series(1, ${rows}) i) g;
     insert into processing_job (id, session_id, type, status, priority, required, config, result, attempts, max_attempts,
                                 created_at, updated_at, started_at, finished_at)
     select gen_random_uuid(), id, 'VALIDATION', case when status = 'FAILED' then 'FAILED' else 'COMPLETED' end, 5, true, '{}',
            '{"size":4096}', 1, 3, created_at, created_at, created_at, created_at
     from upload_session where status <> 'PENDING_UPLOAD';
     -- one session in a hundred went up in 10 parts
     insert into file_part (id, session_id, part_number, etag, size, status, uploaded_at)
     select gen_random_uuid(), s.id, p, md5(s.id::text || p), 8388608, 'UPLOADED', s.created_at
     from upload_session s, generate_series(1, 10) p where s.filename like '%00.bin';
     vacuum analyze;`,
  );
  log(`  generated ${fmt(rows, 0)} sessions in ${fmt((Date.now() - t0) / 1000)} s`);
}

/** The query with its parameters written in as literals (for EXPLAIN). */
function inline(query: string, params: unknown[]): string {
  const literal = (v: unknown): string =>
    v === null || v === undefined
      ? 'null'
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : v instanceof Date
          ? `'${v.toISOString()}'`
          : Array.isArray(v)
            ? `array[${v.map(literal).join(', ')}]`
            : `'${String(v).replace(/'/g, "''")}'`;
  let i = 0;
  // MikroORM hands knex-style `?` placeholders (or $n) to the driver.
  return query.replace(/\$(\d+)|\?/g, (_, n: string | undefined) => literal(params[n ? Number(n) - 1 : i++]));
}

/** The SQL the use cases send (captured from MikroORM's query log and from Sql, the path of hot statements), and the key lines of its plan. */
async function plans(SCALE_DATABASE_URL: string, ids: string[], cursor: string): Promise<{ what: string; sql: string; plan: string[]; indexOnly: boolean; removed: number }[]> {
  const captured: { query: string; params: unknown[] }[] = [];
  class Capture extends DefaultLogger {
    override logQuery(c: LogContext): void {
      if (c.query) captured.push({ query: c.query, params: c.params ?? [] });
    }
  }
  class CapturingSql extends Sql {
    override query<R>(statement: SqlStatement, values: unknown[]): Promise<R[]> {
      captured.push({ query: statement.text, params: values });
      return super.query<R>(statement, values);
    }
  }
  const orm = await MikroORM.init({ ...ormConfig(SCALE_DATABASE_URL, { poolMax: 2 }), debug: ['query'], loggerFactory: (o: LoggerOptions) => new Capture(o) });
  const queries = (em: ReturnType<MikroORM['em']['fork']>) => new UploadSessionQueries(new CapturingSql(em));
  const actor: Actor = { userId: USER, isAdmin: false, uploadToken: null };
  const out: { what: string; sql: string; plan: string[]; indexOnly: boolean; removed: number }[] = [];
  try {
    const cases: [string, (em: ReturnType<MikroORM['em']['fork']>) => Promise<unknown>][] = [
      ['GET /v1/uploads/:id', (em) => new GetUploadUseCase(queries(em)).execute(actor, ids[0])],
      ['GET /v1/uploads (first page)', (em) => new ListUploadsUseCase(queries(em)).execute(actor, {})],
      ['GET /v1/uploads?cursor= (page 25)', (em) => new ListUploadsUseCase(queries(em)).execute(actor, { cursor })],
    ];
    for (const [what, run] of cases) {
      captured.length = 0;
      await run(orm.em.fork());
      for (const c of captured) {
        if (!/^select/i.test(c.query)) continue;
        const sql = inline(c.query, c.params);
        const plan = psql(SCALE_DATABASE_URL, `explain (analyze, buffers, costs off) ${sql}`).split('\n');
        const key = plan.filter((l) => /Scan|Sort|Limit|Execution Time|Index Cond|Filter/.test(l)).map((l) => l.replace(/\s+$/, ''));
        const removed = Math.max(0, ...plan.map((l) => Number(/Rows Removed by Filter: (\d+)/.exec(l)?.[1] ?? 0)));
        out.push({ what, sql, plan: key, indexOnly: !plan.some((l) => /Seq Scan/.test(l)), removed });
      }
    }
  } finally {
    await orm.close(true);
  }
  return out;
}

async function load(path: (i: number) => string, seconds: number, token: string): Promise<{ rps: number; p50: number; p99: number }> {
  let i = 0;
  const r = await autocannon({
    url: `http://127.0.0.1:${PORTS.scaleGateway}`,
    connections: 8,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(i++) }) }],
  });
  if (r.errors > 0 || r.non2xx > 0 || r.timeouts > 0) throw new Error(`GET under load: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.total / seconds, p50: r.latency.p50, p99: r.latency.p99 };
}

export async function scale(ctx: BenchContext): Promise<Section> {
  const rows = ctx.quick ? 20_000 : 1_000_000;
  const seconds = ctx.quick ? 3 : 6;
  const SCALE_DATABASE_URL = scaleDatabaseUrl(ctx.quick);
  ensureData(SCALE_DATABASE_URL, rows, ctx.log);
  const ids = psql(SCALE_DATABASE_URL, `select id from upload_session where user_id = '${USER}' order by random() limit 200`).split('\n');
  const token = tokenFor(USER);
  // Rate limits off: one caller at thousands of requests a second would trip them.
  const gateway = await startApp('upload-gateway', { env: { DATABASE_URL: SCALE_DATABASE_URL, RATE_LIMIT_WRITES: '0', RATE_LIMIT_REQUESTS: '0' }, port: PORTS.scaleGateway });
  const results: Record<string, { rps: Figure; p50: Figure; p99: Figure }> = {};
  let cursor = '';
  try {
    const base = `http://127.0.0.1:${PORTS.scaleGateway}`;
    let page = await call('GET', '/v1/uploads?limit=20', { token, baseUrl: base });
    for (let p = 1; p < 25 && page.nextCursor; p++) page = await call('GET', `/v1/uploads?limit=20&cursor=${page.nextCursor}`, { token, baseUrl: base });
    cursor = page.nextCursor;
    if (!cursor) throw new Error(`${USER} has fewer than 25 pages`);
    const routes: [string, (i: number) => string][] = [
      ['GET /v1/uploads/:id (random of the user’s)', (i) => `/v1/uploads/${ids[i % ids.length]}`],
      ['GET /v1/uploads?limit=20 (first page)', () => '/v1/uploads?limit=20'],
      ['GET /v1/uploads?limit=20&cursor= (page 25)', () => `/v1/uploads?limit=20&cursor=${cursor}`],
    ];
    await load(routes[0][1], 1, token); // warm-up
    // Runs interleaved (page 1, page 25, … in turn), so the pages compared see the same machine.
    const runs = new Map<string, { rps: number; p50: number; p99: number }[]>(routes.map(([name]) => [name, []]));
    for (let i = 0; i < ctx.runs; i++) for (const [name, path] of routes) runs.get(name)!.push(await load(path, seconds, token));
    for (const [name] of routes) {
      const r = runs.get(name)!;
      results[name] = { rps: figure(r.map((x) => x.rps)), p50: figure(r.map((x) => x.p50)), p99: figure(r.map((x) => x.p99)) };
      ctx.log(`  ${name}: p99 ${fmtFigure(results[name].p99)} ms`);
    }
    if (gateway.child.exitCode !== null) throw new Error(`gateway exited; see ${gateway.log}`);
  } finally {
    await stopProcess(gateway);
  }
  const explained = await plans(SCALE_DATABASE_URL, ids, cursor);
  const seq = explained.filter((e) => !e.indexOnly);
  // An index scan that filters many rows out is still linear in something (a deep page, say).
  const filtering = explained.filter((e) => e.removed > 100);
  const one = results['GET /v1/uploads/:id (random of the user’s)'];
  const first = results['GET /v1/uploads?limit=20 (first page)'];
  const deep = results['GET /v1/uploads?limit=20&cursor= (page 25)'];
  const targets: Target[] = [
    { name: `GET /v1/uploads/:id at ${fmt(rows, 0)} sessions, 8 connections`, target: '≥ 2,000 req/s', actual: `${fmtFigure(one.rps)} req/s`, met: one.rps.median >= 2000 },
    { name: `GET /v1/uploads/:id p99 at ${fmt(rows, 0)} sessions`, target: '< 10 ms', actual: `${fmtFigure(one.p99, 1)} ms`, met: one.p99.median < 10 },
    {
      name: 'List page 25 against page 1 (p99)',
      target: 'within 20%',
      actual: `${fmtFigure(deep.p99, 1)} ms vs ${fmtFigure(first.p99, 1)} ms`,
      met: deep.p99.median <= 1.2 * first.p99.median,
    },
    {
      name: `Query plans at ${fmt(rows, 0)} sessions use indexes`,
      target: 'no sequential scan',
      actual: seq.length === 0 ? 'index scans only' : `sequential scan in: ${seq.map((s) => s.what).join(', ')}`,
      met: seq.length === 0,
    },
    {
      name: 'Index scans go straight to their rows',
      target: 'no index scan filtering > 100 rows',
      actual: filtering.length === 0 ? 'none' : filtering.map((f) => `${f.what}: ${fmt(f.removed, 0)} rows removed by filter`).join('; '),
      met: filtering.length === 0,
      note:
        filtering.length === 0
          ? undefined
          : 'the keyset cursor is written as `created_at < ? OR (created_at = ? AND id < ?)`, which Postgres applies as a filter after `user_id`, so page k reads k × limit rows; a row comparison `(created_at, id) < (?, ?)` would be an index condition',
    },
  ];
  return {
    id: 5,
    title: 'Scale of state',
    lines: [
      `${fmt(rows, 0)} sessions (${fmt(rows / PER_USER, 0)} users, ${fmt(PER_USER, 0)} each; one job per uploaded session) made with INSERT … SELECT generate_series in a database of their own, ` +
        `then VACUUM ANALYZE. A gateway on that database; autocannon, 8 connections, ${seconds} s per run, as ${USER}; the three requests' runs interleaved.`,
      '',
      ...table(['request', ' req/s', ' p50 ms', ' p99 ms'], Object.entries(results).map(([k, r]) => [k, fmtFigure(r.rps), fmtFigure(r.p50, 1), fmtFigure(r.p99, 1)])),
      '',
      'Query plans (EXPLAIN ANALYZE of the SQL the use cases send, captured from MikroORM and from Sql, the path of hot statements; key lines):',
      '',
      ...explained.flatMap((e) => [`- ${e.what}: \`${e.sql.length > 160 ? `${e.sql.slice(0, 160)}…` : e.sql}\``, '', '  ```', ...e.plan.map((l) => `  ${l}`), '  ```', '']),
    ],
    targets,
    data: { rows, results, explained },
  };
}
