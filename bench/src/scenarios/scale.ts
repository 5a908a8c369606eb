import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { MIGRATIONS } from '../../../libs/database/src/migrations';
import {
  addDelta,
  cpuTable,
  CpuMeter,
  CpuRun,
  CpuWindow,
  DbDelta,
  DbStats,
  dbDelta,
  dbLines,
  pathProcesses,
  ProcessGroup,
  processNotes,
  sleep,
} from '../accounting';
import { isRunning, RunningProcess, startApp, stopProcess } from '../apps';
import { call, tokenFor } from '../client';
import { enableStatementStats, freshDatabase, NS, PORTS, psql, ROOT, RUN_DIR, scaleDatabaseUrl } from '../env';
import { httpLoad, LoadResult } from '../http-load';
import { BenchContext, BenchFailure, pct, Scenario, Section, table, Target, thresholdTarget } from '../report';
import { Figure, figure, fmt, fmtFigure, percentile } from '../stats';

/** Sessions per user: a user's listing walks 1,000 sessions, in --quick as in the full run. */
const PER_USER = 1000;
const USER = 'user-7';
const CONNECTIONS = 8;
const PAGE = 25;

/** Files in one POST /v1/uploads/check (the most it takes), half of them held by the user. */
const CHECKED = 1000;

/**
 * A million sessions (in --quick fewer), made once with INSERT … SELECT generate_series and kept for the next run.
 * Each declares a checksum (SHA-256 of its id), so the COMPLETED ones are what POST /v1/uploads/check looks through.
 */
function ensureData(url: string, rows: number, log: (m: string) => void): void {
  const USERS = rows / PER_USER;
  const latest = MIGRATIONS[MIGRATIONS.length - 1].name;
  let current = '';
  try {
    current = psql(
      url,
      `select (select count(*) from upload_session) || '|' || (select count(*) from app_user) || '|' || (select count(*) > 0 from file_part)::text || '|' || (select max(name) from mikro_orm_migrations)`,
    );
  } catch {
    // no database yet
  }
  if (current === `${rows}|${USERS}|true|${latest}`) {
    enableStatementStats(url);
    return log(`  reusing ${fmt(rows, 0)} sessions in ${new URL(url).pathname.slice(1)}`);
  }
  const t0 = Date.now();
  freshDatabase(url);
  psql(
    url,
    `insert into app_user (id, created_at) select 'user-' || u, now() from generate_series(0, ${USERS - 1}) u;
     insert into upload_session (id, user_id, bucket, object_key, status, filename, content_type, size, checksum_sha256, metadata, job_plan,
                                 total_parts, completed_parts, counted_in_group, uploaded_at, expires_at, created_at, updated_at, version)
     select id, 'user-' || (i % ${USERS}), 'uploads-${NS}', 'uploads/' || id || '/file-' || i || '.bin',
            (array['COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'PENDING_UPLOAD'])[1 + i % 5], 'file-' || i || '.bin',
            'application/octet-stream', 4096 + i % 1000, encode(sha256(convert_to(id::text, 'UTF8')), 'base64'), '{}',
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

interface Captured {
  route: string;
  status: number;
  queries: { text: string; values: unknown[] }[];
}

const revive = (v: unknown) =>
  v !== null && typeof v === 'object' && '$base64' in (v as object) ? Buffer.from((v as { $base64: string }).$base64, 'base64') : v;

/**
 * The SQL each request of a route sends, recorded inside the gateway (src/sql-capture.js) for `count`
 * requests made one after another with the capture header.
 */
async function capture(base: string, token: string, file: string, paths: string[], post?: unknown): Promise<Captured[]> {
  rmSync(file, { force: true });
  for (const p of paths) {
    await call(post === undefined ? 'GET' : 'POST', p, {
      token,
      baseUrl: base,
      headers: { 'x-bench-capture': '1' },
      ...(post === undefined ? {} : { body: post, expect: 200 }),
    });
  }
  // The gateway writes a request's record when its response has finished, which may be just after we read it.
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
  const deadline = Date.now() + 5000;
  while (read().length < paths.length && Date.now() < deadline) await sleep(20);
  const records = read().map((l) => JSON.parse(l) as Captured);
  if (records.length !== paths.length) throw new BenchFailure(`SQL capture: ${records.length} requests recorded of ${paths.length}`);
  for (const r of records) {
    if (r.queries.length === 0) throw new BenchFailure(`SQL capture: ${r.route} sent no SQL through pg (does the gateway still use the pg driver?)`);
    for (const q of r.queries) q.values = q.values.map(revive);
  }
  return records;
}

/**
 * The baseline of a read: the statements the route sent for each request, replayed through `pg` alone
 * (a pool of CONNECTIONS, one connection per request, statements one after another), `seconds` long.
 */
async function replay(pool: Pool, sequences: Captured[], seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const seq = sequences[next++ % sequences.length];
        const s = performance.now();
        const client = await pool.connect();
        try {
          for (const q of seq.queries) await client.query(q.text, q.values);
        } finally {
          client.release();
        }
        latencies.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { requests: latencies.length, seconds: elapsed, rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

interface Explained {
  sql: string;
  /** Rows the scans read (returned + removed by filter), per relation. */
  rowsRead: number;
  buffers: number;
  ms: number;
  seqScan: boolean;
  indexConds: string[];
  lines: string[];
}

/** EXPLAIN (ANALYZE, BUFFERS) of a captured statement, with its own parameter values. */
async function explain(pool: Pool, q: { text: string; values: unknown[] }): Promise<Explained> {
  const { rows } = await pool.query(`explain (analyze, buffers, format json) ${q.text}`, q.values);
  const root = (rows[0]['QUERY PLAN'] as { Plan: PlanNode; 'Execution Time': number }[])[0];
  const out: Explained = {
    sql: q.text,
    rowsRead: 0,
    buffers: (root.Plan['Shared Hit Blocks'] ?? 0) + (root.Plan['Shared Read Blocks'] ?? 0),
    ms: root['Execution Time'],
    seqScan: false,
    indexConds: [],
    lines: [],
  };
  const walk = (n: PlanNode, depth: number) => {
    const removed = (n['Rows Removed by Filter'] ?? 0) + (n['Rows Removed by Index Recheck'] ?? 0);
    if (/Scan/.test(n['Node Type']) && n['Relation Name']) out.rowsRead += (n['Actual Rows'] + removed) * n['Actual Loops'];
    if (n['Node Type'] === 'Seq Scan') out.seqScan = true;
    if (n['Index Cond']) out.indexConds.push(n['Index Cond']);
    out.lines.push(
      `${'  '.repeat(depth)}${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''} (rows ${n['Actual Rows']} × ${n['Actual Loops']})`,
      ...(n['Index Cond'] ? [`${'  '.repeat(depth + 1)}Index Cond: ${n['Index Cond']}`] : []),
      ...(n.Filter ? [`${'  '.repeat(depth + 1)}Filter: ${n.Filter}`] : []),
      ...(removed ? [`${'  '.repeat(depth + 1)}Rows Removed by Filter: ${removed}`] : []),
    );
    for (const c of n.Plans ?? []) walk(c, depth + 1);
  };
  walk(root.Plan, 0);
  out.lines.push(`Buffers: ${out.buffers}; Execution Time: ${fmt(out.ms, 3)} ms`);
  return out;
}

const isRead = (sql: string) => /^\s*(select|with)\b/i.test(sql);

async function run(ctx: BenchContext): Promise<Section> {
  const rows = ctx.quick ? 20_000 : 1_000_000;
  const seconds = ctx.quick ? 2 : 5;
  const url = scaleDatabaseUrl(ctx.quick);
  ensureData(url, rows, ctx.log);
  const ids = psql(url, `select id from upload_session where user_id = '${USER}' order by random() limit 200`).split('\n');
  // The check's files: half the user's COMPLETED sessions (held), half contents nobody has.
  const held = psql(
    url,
    `select checksum_sha256 || ' ' || size from upload_session where user_id = '${USER}' and status = 'COMPLETED' order by random() limit ${CHECKED / 2}`,
  )
    .split('\n')
    .map((l) => ({ checksumSha256: l.split(' ')[0], size: Number(l.split(' ')[1]) }));
  const unknown = Array.from({ length: CHECKED - held.length }, (_, i) => ({
    checksumSha256: createHash('sha256').update(`nobody-${i}`).digest('base64'),
    size: 4096 + i,
  }));
  const checkBody = { files: [...held, ...unknown].sort((a, b) => a.checksumSha256.localeCompare(b.checksumSha256)) };
  const checks: (LoadResult & { cpu: CpuWindow })[] = [];
  let checkAnswer: { exists: boolean }[] = [];
  const token = tokenFor(USER);
  const captureFile = join(RUN_DIR, 'sql-capture.jsonl');
  const base = `http://127.0.0.1:${PORTS.scaleGateway}`;
  const stats = await DbStats.open(url);
  const pool = new Pool({ connectionString: url, max: CONNECTIONS, application_name: 'bench-baseline' });
  let gateway: RunningProcess | null = null;
  const http: Record<string, (LoadResult & { cpu: CpuWindow })[]> = {};
  const baseline: (LoadResult & { cpu: CpuWindow })[] = [];
  const statements: Record<string, ReturnType<typeof dbLines>> = {};
  let captured: Record<string, Captured[]> = {};
  let groups: ProcessGroup[] = [];
  let cursor = '';
  const routes = {
    byId: 'GET /v1/uploads/:id (random of the user’s)',
    page1: `GET /v1/uploads?limit=20 (page 1)`,
    pageN: `GET /v1/uploads?limit=20&cursor= (page ${PAGE})`,
    check: `POST /v1/uploads/check (${fmt(CHECKED, 0)} files, ${fmt(CHECKED / 2, 0)} held)`,
  };
  try {
    gateway = await startApp('upload-gateway', {
      env: { DATABASE_URL: url, BENCH_SQL_CAPTURE: captureFile },
      port: PORTS.scaleGateway,
      nodeArgs: ['-r', join(ROOT, 'bench/src/sql-capture.js')],
    });
    groups = pathProcesses({ apps: { 'upload-gateway': gateway.pid }, databases: [stats.database], excludeBackends: [stats.backendPid] });
    let page = await call('GET', '/v1/uploads?limit=20', { token, baseUrl: base });
    for (let p = 1; p < PAGE && page.nextCursor; p++)
      page = await call('GET', `/v1/uploads?limit=20&cursor=${encodeURIComponent(page.nextCursor)}`, { token, baseUrl: base });
    cursor = encodeURIComponent(page.nextCursor ?? '');
    if (!cursor) throw new BenchFailure(`${USER} has fewer than ${PAGE} pages`);
    const paths: Record<'byId' | 'page1' | 'pageN', (i: number) => string> = {
      byId: (i) => `/v1/uploads/${ids[i % ids.length]}`,
      page1: () => '/v1/uploads?limit=20',
      pageN: () => `/v1/uploads?limit=20&cursor=${cursor}`,
    };
    // What each route sends to Postgres, recorded inside the gateway.
    captured = {
      byId: await capture(
        base,
        token,
        captureFile,
        ids.slice(0, ctx.quick ? 20 : 200).map((_, i) => paths.byId(i)),
      ),
      page1: await capture(base, token, captureFile, [paths.page1(0)]),
      pageN: await capture(base, token, captureFile, [paths.pageN(0)]),
      check: await capture(base, token, captureFile, ['/v1/uploads/check'], checkBody),
    };
    checkAnswer = (await call<{ files: { exists: boolean }[] }>('POST', '/v1/uploads/check', { token, baseUrl: base, body: checkBody, expect: 200 })).files;
    const load = (key: keyof typeof paths) =>
      httpLoad({
        url: base,
        path: paths[key],
        headers: { authorization: `Bearer ${token}` },
        connections: CONNECTIONS,
        seconds,
        expect: 200,
        what: routes[key],
      });
    await load('byId').then(() => replay(pool, captured.byId, 1)); // warm-up
    const measure = async <T extends LoadResult>(fn: () => Promise<T>, into: (T & { cpu: CpuWindow })[]) => {
      const meter = new CpuMeter(groups).start();
      const r = await fn();
      into.push({ ...r, cpu: meter.stop() });
    };
    // GET /:id interleaved with its pg-alone baseline; page 1 interleaved with page 25.
    const deltas: Record<string, DbDelta> = {};
    for (const pair of [
      ['byId', 'baseline'],
      ['page1', 'pageN'],
    ] as const) {
      for (let i = 0; i < ctx.runs; i++) {
        for (const key of pair) {
          if (key === 'baseline') {
            await measure(() => replay(pool, captured.byId, seconds), baseline);
            continue;
          }
          const s0 = await stats.snapshot();
          await measure(() => load(key), (http[key] ??= []));
          deltas[key] = addDelta(deltas[key], dbDelta(s0, await stats.snapshot()));
        }
      }
      for (const key of pair)
        if (key !== 'baseline')
          ctx.log(`  ${routes[key]}: ${fmtFigure(figure(http[key].map((r) => r.rps)))} req/s, p99 ${fmtFigure(figure(http[key].map((r) => r.p99)))} ms`);
      if (pair[1] === 'baseline')
        ctx.log(
          `  the same SQL through pg alone: ${fmtFigure(figure(baseline.map((r) => r.rps)))} /s, p99 ${fmtFigure(figure(baseline.map((r) => r.p99)), 2)} ms`,
        );
    }
    // The check of 1,000 files: its latency as one client sees it (one connection), after a warm-up.
    const checkLoad = () =>
      httpLoad({
        url: base,
        method: 'POST',
        path: () => '/v1/uploads/check',
        body: checkBody,
        headers: { authorization: `Bearer ${token}` },
        connections: 1,
        seconds,
        expect: 200,
        what: routes.check,
      });
    await checkLoad();
    for (let i = 0; i < ctx.runs; i++) await measure(checkLoad, checks);
    ctx.log(
      `  ${routes.check}: p50 ${fmtFigure(figure(checks.map((r) => r.p50)))} ms, p99 ${fmtFigure(figure(checks.map((r) => r.p99)))} ms, ${fmtFigure(figure(checks.map((r) => r.rps)))} req/s`,
    );
    for (const [key, d] of Object.entries(deltas)) {
      statements[key] = dbLines(
        d,
        http[key].reduce((sum, r) => sum + r.requests, 0),
        'request',
        null,
        { settled: true, top: 5, statementsOnly: true },
      );
    }
    if (!isRunning(gateway)) throw new BenchFailure(`gateway exited; see ${gateway.log}`);
  } finally {
    if (gateway) await stopProcess(gateway);
    await stats.close();
  }
  const plans: Record<string, Explained[]> = {};
  try {
    for (const key of ['byId', 'page1', 'pageN', 'check'] as const)
      plans[key] = await Promise.all(captured[key][0].queries.filter((q) => isRead(q.text)).map((q) => explain(pool, q)));
  } finally {
    await pool.end();
  }

  const f = (key: string, q: 'rps' | 'p50' | 'p99'): Figure => figure(http[key].map((r) => r[q]));
  const bf = (q: 'rps' | 'p50' | 'p99'): Figure => figure(baseline.map((r) => r[q]));
  const runsOf = (list: (LoadResult & { cpu: CpuWindow })[]): CpuRun[] => list.map((r) => ({ window: r.cpu, units: r.requests }));
  const listScan = (key: 'page1' | 'pageN') => plans[key].filter((p) => /upload_session/.test(p.sql));
  const rowsRead = (key: 'page1' | 'pageN') => listScan(key).reduce((s, p) => s + p.rowsRead, 0);
  const cursorInIndex = listScan('pageN').some((p) => p.indexConds.some((c) => /created_at/.test(c)));
  const p99Ratio = f('pageN', 'p99').median / f('page1', 'p99').median;
  const seq = Object.entries(plans).filter(([, ps]) => ps.some((p) => p.seqScan));
  const perRequest = (key: string) =>
    `${fmt(captured[key][0].queries.length, 0)} (${captured[key][0].queries.map((q) => q.text.trim().split(/\s+/)[0].toLowerCase()).join(', ')})`;
  const cf = (q: 'rps' | 'p50' | 'p99'): Figure => figure(checks.map((r) => r[q]));
  const checkScan = plans.check.filter((p) => /upload_session/.test(p.sql));
  const checkIndexOnly = checkScan.some((p) => p.lines.some((l) => /Index Only Scan using upload_session_completed_content_index/.test(l)));
  const heldFound = checkAnswer.filter((a) => a.exists).length;
  const targets: Target[] = [
    thresholdTarget({
      name: `POST /v1/uploads/check of ${fmt(CHECKED, 0)} files at ${fmt(rows, 0)} sessions: p99, one connection`,
      source: 'issue 22',
      value: cf('p99').median,
      limit: 100,
      atLeast: false,
      wanted: '< 100 ms',
      measured: `${fmtFigure(cf('p99'), 0)} ms (p50 ${fmtFigure(cf('p50'), 0)} ms)`,
    }),
    {
      name: `POST /v1/uploads/check finds exactly the held files, through the partial index`,
      source: 'issue 22',
      wanted: `${fmt(CHECKED / 2, 0)} of ${fmt(CHECKED, 0)} found; an index-only scan`,
      measured: `${fmt(heldFound, 0)} found; ${checkIndexOnly ? 'index-only scan of upload_session_completed_content_index' : 'not an index-only scan of the partial index'}`,
      met: heldFound === CHECKED / 2 && checkIndexOnly,
    },
    thresholdTarget({
      name: `GET /v1/uploads/:id at ${fmt(rows, 0)} sessions, ${CONNECTIONS} connections: rate`,
      source: 'issue 15',
      value: f('byId', 'rps').median,
      limit: 2000,
      atLeast: true,
      wanted: '≥ 2,000 req/s',
      measured: `${fmtFigure(f('byId', 'rps'))} req/s`,
    }),
    thresholdTarget({
      name: `GET /v1/uploads/:id at ${fmt(rows, 0)} sessions, ${CONNECTIONS} connections: p99`,
      source: 'issue 15',
      value: f('byId', 'p99').median,
      limit: 10,
      atLeast: false,
      wanted: '< 10 ms',
      measured: `${fmtFigure(f('byId', 'p99'), 0)} ms`,
    }),
    {
      name: `GET /v1/uploads?cursor=… page ${PAGE} reads no more rows than page 1`,
      source: 'issue 15',
      wanted: `≤ page 1's rows, the cursor an index condition`,
      measured: `${fmt(rowsRead('pageN'), 0)} vs ${fmt(rowsRead('page1'), 0)} rows; the cursor ${cursorInIndex ? 'is' : 'is not'} an index condition`,
      met: cursorInIndex && rowsRead('pageN') <= rowsRead('page1'),
      note: cursorInIndex ? undefined : 'the cursor is applied as a filter after the index scan on user_id, so page k reads k × limit rows',
    },
    thresholdTarget({
      name: `GET /v1/uploads page ${PAGE} p99 vs page 1 p99`,
      source: 'issue 15',
      value: p99Ratio,
      limit: 1.2,
      atLeast: false,
      wanted: 'within 20%',
      measured: `${pct(p99Ratio)} (${fmt(f('pageN', 'p99').median, 0)} vs ${fmt(f('page1', 'p99').median, 0)} ms)`,
    }),
    {
      name: `Reads at ${fmt(rows, 0)} sessions use indexes`,
      source: 'bench',
      wanted: 'no sequential scan',
      measured: seq.length === 0 ? 'index scans only' : `sequential scan in: ${seq.map(([k]) => routes[k as keyof typeof routes]).join(', ')}`,
      met: seq.length === 0,
    },
  ];
  const plansLines = (key: keyof typeof routes) =>
    plans[key].flatMap((p) => [
      `- ${routes[key]}: \`${p.sql.replace(/\s+/g, ' ').slice(0, 200)}${p.sql.length > 200 ? '…' : ''}\``,
      '',
      '  ```',
      ...p.lines.map((l) => `  ${l}`),
      '  ```',
      '',
    ]);
  return {
    id: 5,
    title: 'Reads at scale',
    lines: [
      `${fmt(rows, 0)} sessions (${fmt(rows / PER_USER, 0)} users, ${fmt(PER_USER, 0)} each; one job per uploaded session) made with INSERT … SELECT generate_series in a database of their own, ` +
        `then VACUUM ANALYZE. A gateway on that database; autocannon, ${CONNECTIONS} connections, ${seconds} s per run, ${ctx.runs} run${ctx.runs > 1 ? 's' : ''}, as ${USER}.`,
      '',
      `Baseline of GET /v1/uploads/:id, interleaved with it: the statements the route sent, recorded inside the gateway for ${captured.byId?.length ?? 0} requests ` +
        `(src/sql-capture.js: every query through \`pg\`, with its parameters), replayed through \`pg\` alone: a pool of ${CONNECTIONS}, one connection per request, statements one after another. ` +
        `Statements per request: GET /:id ${perRequest('byId')}; page 1 ${perRequest('page1')}; page ${PAGE} ${perRequest('pageN')}.`,
      '',
      ...table(
        ['request', ' req/s', ' p50 ms', ' p99 ms', ' share of the pg-alone rate'],
        [
          [
            routes.byId,
            fmtFigure(f('byId', 'rps')),
            fmtFigure(f('byId', 'p50'), 1),
            fmtFigure(f('byId', 'p99'), 1),
            pct(f('byId', 'rps').median / bf('rps').median),
          ],
          ['the same SQL through pg alone', fmtFigure(bf('rps')), fmtFigure(bf('p50'), 2), fmtFigure(bf('p99'), 2), '100%'],
          [routes.page1, fmtFigure(f('page1', 'rps')), fmtFigure(f('page1', 'p50'), 1), fmtFigure(f('page1', 'p99'), 1), ''],
          [routes.pageN, fmtFigure(f('pageN', 'rps')), fmtFigure(f('pageN', 'p50'), 1), fmtFigure(f('pageN', 'p99'), 1), ''],
          [`${routes.check}, 1 connection`, fmtFigure(cf('rps')), fmtFigure(cf('p50'), 1), fmtFigure(cf('p99'), 1), ''],
        ],
      ),
      '',
      `The check: ${fmt(CHECKED, 0)} files in one request (the most it takes), ${fmt(CHECKED / 2, 0)} of them COMPLETED sessions of ${USER} (every seeded session declares a checksum), ` +
        `${fmt(CHECKED / 2, 0)} contents nobody holds; ${fmt(heldFound, 0)} found. One statement (${perRequest('check')}), one probe per file into the partial index.`,
      '',
      `Rows the listing's statement reads (EXPLAIN (ANALYZE, BUFFERS) of the captured statement with its parameters): page 1 ${fmt(rowsRead('page1'), 0)}, page ${PAGE} ${fmt(rowsRead('pageN'), 0)}; ` +
        `the cursor ${cursorInIndex ? 'is' : 'is **not**'} an index condition.`,
      '',
      '### Where every millisecond of a read goes',
      '',
      ...cpuTable(
        [
          { title: 'GET /:id', runs: runsOf(http.byId), unit: 'request' },
          { title: 'pg alone', runs: runsOf(baseline), unit: 'request' },
          { title: 'page 1', runs: runsOf(http.page1), unit: 'request' },
          { title: `page ${PAGE}`, runs: runsOf(http.pageN), unit: 'request' },
          { title: 'check 1,000', runs: runsOf(checks), unit: 'request' },
        ],
        null,
        cpus().length,
      ),
      '',
      ...processNotes(groups),
      '',
      ...(['byId', 'page1', 'pageN'] as const).flatMap((k) => [`${routes[k]}: ${statements[k]?.lines.join('\n') ?? 'n/a'}`, '']),
      'Query plans of the captured statements (EXPLAIN (ANALYZE, BUFFERS), one request each):',
      '',
      ...plansLines('byId'),
      ...plansLines('page1'),
      ...plansLines('pageN'),
      ...plansLines('check'),
    ],
    targets,
    data: { rows, http, baseline, checks, captured: Object.fromEntries(Object.entries(captured).map(([k, v]) => [k, v[0]])), plans },
  };
}

export const scale: Scenario = { id: 5, key: 'reads', title: 'reads at scale', run };
