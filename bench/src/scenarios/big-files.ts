import { request } from 'node:http';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { RunningProcess, startNode, stopProcess, System } from '../apps';
import { call, inParallel, tokenFor } from '../client';
import { benchEnv, collectStoreGarbage, emptyBucket, PORTS, ROOT, s3Client } from '../env';
import { SessionWatch } from '../events';
import { ProcessUsage, UsageMeter } from '../proc';
import { BenchContext, BenchFailure, pct, Scenario, Section, table, Target, thresholdTarget } from '../report';
import { fileStream, slice } from '../source';
import { figure, fmt, fmtFigure, fmtMiB, MiB } from '../stats';

const PART_SIZE = 8 * MiB;
/** Parts in flight at once, for our client and the SDK's (queueSize) alike. */
const PARALLEL = 4;

type Method = 'platform' | 'sdk' | 'tus';
interface Transfer {
  method: Method;
  size: number;
  seconds: number;
  mibPerSecond: number;
  /** CPU seconds of the servers in the path (our three apps; the tus server); none for the SDK. */
  serverCpu: number;
  clientCpu: number;
  usage: Record<string, ProcessUsage>;
  /** Ours only: from create to COMPLETED (its VALIDATION job included). */
  secondsToCompleted?: number;
}

function clientCpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** Our multipart: create, PUT the parts to their pre-signed URLs (PARALLEL at once), complete. */
async function viaPlatform(sys: System, watch: SessionWatch, size: number, token: string): Promise<Transfer> {
  const meter = new UsageMeter(sys.pids).start();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const created = await call('POST', '/v1/uploads', {
    token,
    body: { filename: 'big.bin', contentType: 'application/octet-stream', size, multipart: true, partSize: PART_SIZE, jobs: [{ type: 'VALIDATION' }] },
  });
  const u = created.upload;
  if (u.strategy !== 'MULTIPART') throw new BenchFailure(`expected a MULTIPART upload, got ${u.strategy}`);
  const parts = new Map<number, { size: number; url: string }>(u.parts.map((p: { partNumber: number; size: number; url: string }) => [p.partNumber, p]));
  const numbers = Array.from({ length: u.totalParts }, (_, i) => i + 1);
  const missing = numbers.filter((n) => !parts.has(n));
  for (let i = 0; i < missing.length; i += 100) {
    const signed = await call('POST', `/v1/uploads/${created.id}/parts`, { token, body: { partNumbers: missing.slice(i, i + 100) }, expect: 200 });
    for (const p of signed.parts) parts.set(p.partNumber, { size: p.size ?? Math.min(u.partSize, size - (p.partNumber - 1) * u.partSize), url: p.url });
  }
  const etags: { partNumber: number; etag: string }[] = [];
  await inParallel(numbers, PARALLEL, async (n) => {
    const start = (n - 1) * u.partSize;
    const res = await fetch(parts.get(n)!.url, { method: 'PUT', body: slice(start, Math.min(u.partSize, size - start)) });
    const text = await res.text();
    if (res.status !== 200) throw BenchFailure.status(`PUT part ${n} to the store`, res.status, text);
    etags.push({ partNumber: n, etag: res.headers.get('etag') ?? '' });
  });
  await call('POST', `/v1/uploads/${created.id}/complete`, { token, body: { parts: etags.sort((a, b) => a.partNumber - b.partNumber) }, expect: 200 });
  const seconds = (Date.now() - t0) / 1000;
  const clientCpu = clientCpuSince(cpu0);
  await watch.settled([created.id], 120_000);
  const secondsToCompleted = (Date.now() - t0) / 1000;
  const usage = meter.stop();
  sys.assertAlive();
  const t = watch.times.get(created.id);
  if (t?.failed) throw new BenchFailure(`big upload FAILED: ${t.failed}`);
  const serverCpu = Object.values(usage).reduce((s, x) => s + x.cpuSeconds, 0);
  return { method: 'platform', size, seconds, mibPerSecond: size / MiB / seconds, serverCpu, clientCpu, usage, secondsToCompleted };
}

/** The limit: the AWS SDK's managed multipart upload (lib-storage), straight to the store. */
async function viaSdk(sys: System, size: number): Promise<Transfer> {
  const env = benchEnv();
  const meter = new UsageMeter(sys.pids).start();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  await new Upload({
    client: s3Client(),
    params: { Bucket: env.S3_BUCKET, Key: `bench-sdk/${t0}.bin`, Body: fileStream(size), ContentType: 'application/octet-stream' },
    partSize: PART_SIZE,
    queueSize: PARALLEL,
    leavePartsOnError: false,
  }).done();
  const seconds = (Date.now() - t0) / 1000;
  const usage = meter.stop();
  return { method: 'sdk', size, seconds, mibPerSecond: size / MiB / seconds, serverCpu: 0, clientCpu: clientCpuSince(cpu0), usage };
}

/** What a user would pick instead: tus (creation + one PATCH of the whole stream, as tus-js-client does by default). */
async function viaTus(tus: RunningProcess, size: number): Promise<Transfer> {
  const base = `http://127.0.0.1:${tus.port}`;
  const meter = new UsageMeter({ 'tus-server': tus.pid }).start();
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const created = await fetch(`${base}/files`, {
    method: 'POST',
    headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(size), 'Upload-Metadata': `filename ${Buffer.from('big.bin').toString('base64')}` },
  });
  const createdBody = await created.text();
  const location = created.headers.get('location');
  if (created.status !== 201 || !location) throw BenchFailure.status('tus creation', created.status, createdBody);
  const url = new URL(location, base);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PATCH',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream', 'Content-Length': String(size) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    fileStream(size).pipe(req);
  });
  if (status !== 204) throw new BenchFailure(`tus PATCH: unexpected status ${status}; see ${tus.log}`);
  const seconds = (Date.now() - t0) / 1000;
  const usage = meter.stop();
  return {
    method: 'tus',
    size,
    seconds,
    mibPerSecond: size / MiB / seconds,
    serverCpu: usage['tus-server'].cpuSeconds,
    clientCpu: clientCpuSince(cpu0),
    usage,
  };
}

async function run(ctx: BenchContext): Promise<Section> {
  const big = Number(process.env.BENCH_BIG_MIB ?? (ctx.quick ? 48 : 1024)) * MiB;
  const small = ctx.quick ? 16 * MiB : 128 * MiB;
  const token = tokenFor('bench-user-3');
  const env = benchEnv();
  const transfers: Transfer[] = [];
  const memory: Transfer[] = [];
  const runs = Math.min(ctx.runs, 3);

  const sys = await System.start();
  const watch = await SessionWatch.start();
  const tus = await startNode('tus-server', join(ROOT, 'bench/src/tus-server.mjs'), {
    env: {
      S3_BUCKET: env.S3_BUCKET,
      S3_ENDPOINT: env.S3_ENDPOINT,
      S3_REGION: env.S3_REGION,
      S3_ACCESS_KEY: env.S3_ACCESS_KEY,
      S3_SECRET_KEY: env.S3_SECRET_KEY,
      TUS_PORT: String(PORTS.tus),
      TUS_PART_SIZE: String(PART_SIZE),
    },
    port: PORTS.tus,
  });
  const clean = async () => {
    await emptyBucket(env.S3_BUCKET);
    collectStoreGarbage();
  };
  try {
    // Warm-up, and the small size for scenario 6 (memory must not grow with the file's size).
    for (const method of ['platform', 'sdk', 'tus'] as Method[]) {
      const t = method === 'platform' ? await viaPlatform(sys, watch, small, token) : method === 'sdk' ? await viaSdk(sys, small) : await viaTus(tus, small);
      memory.push(t);
      await clean();
    }
    // A run moves a GiB three times: not a short run, so at most 3.
    for (let i = 0; i < runs; i++) {
      for (const method of ['platform', 'sdk', 'tus'] as Method[]) {
        const t = method === 'platform' ? await viaPlatform(sys, watch, big, token) : method === 'sdk' ? await viaSdk(sys, big) : await viaTus(tus, big);
        transfers.push(t);
        await clean();
        ctx.log(`  run ${i + 1} ${method}: ${fmt(t.mibPerSecond)} MiB/s, server CPU ${fmt(t.serverCpu, 2)} s`);
      }
    }
  } finally {
    await watch.close();
    await stopProcess(tus);
    await sys.stop();
    await clean().catch(() => undefined);
  }

  const of = (m: Method, list = transfers) => list.filter((t) => t.method === m);
  const rate = (m: Method) => figure(of(m).map((t) => t.mibPerSecond));
  const [ours, sdk, tusRate] = [rate('platform'), rate('sdk'), rate('tus')];
  const vsSdk = ours.median / sdk.median;
  const vsTus = ours.median / tusRate.median;
  const names: Record<Method, string> = {
    platform: 'our multipart (pre-signed parts)',
    sdk: 'AWS SDK lib-storage Upload, direct',
    tus: '@tus/server + @tus/s3-store',
  };
  const rows = (['platform', 'sdk', 'tus'] as Method[]).map((m) => [
    names[m],
    fmtFigure(rate(m)),
    pct(rate(m).median / sdk.median),
    m === 'sdk' ? '0 (no server)' : fmtFigure(figure(of(m).map((t) => t.serverCpu)), 2),
    fmtFigure(figure(of(m).map((t) => t.clientCpu)), 2),
  ]);

  // Scenario 6 (part): RSS growth of every server at the small and the big size.
  const growth = (list: Transfer[], m: Method) => {
    const out: Record<string, number> = {};
    for (const t of of(m, list)) for (const [app, u] of Object.entries(t.usage)) out[app] = Math.max(out[app] ?? 0, u.rssPeak - u.rssStart);
    return out;
  };
  const peak = (list: Transfer[], m: Method) => {
    const out: Record<string, number> = {};
    for (const t of of(m, list)) for (const [app, u] of Object.entries(t.usage)) out[app] = Math.max(out[app] ?? 0, u.rssPeak);
    return out;
  };
  const memRows: (string | number)[][] = [];
  for (const m of ['platform', 'tus'] as Method[]) {
    const gs = growth(memory, m);
    const gb = growth(transfers, m);
    const ps = peak(memory, m);
    const pb = peak(transfers, m);
    for (const app of Object.keys(gb)) memRows.push([names[m], app, fmtMiB(ps[app]), fmtMiB(pb[app]), fmtMiB(gs[app]), fmtMiB(gb[app])]);
  }
  // "Grows with file size": the big file's growth exceeds the small one's by more than a quarter of the size difference.
  const grows = (m: Method) => Object.entries(growth(transfers, m)).filter(([app, g]) => g - (growth(memory, m)[app] ?? 0) > (big - small) / 4);
  const platformGrows = grows('platform');
  const toCompleted = figure(of('platform').map((t) => t.secondsToCompleted!));

  const targets: Target[] = [
    thresholdTarget({
      name: 'Big file: our multipart vs the SDK direct',
      source: 'issue 10',
      value: vsSdk,
      limit: 0.9,
      atLeast: true,
      wanted: '≥ 90%',
      measured: `${pct(vsSdk)} (${fmt(ours.median)} vs ${fmt(sdk.median)} MiB/s)`,
    }),
    thresholdTarget({
      name: 'Big file: our multipart ahead of tus',
      source: 'issue 10',
      value: vsTus,
      limit: 1,
      atLeast: true,
      wanted: '> 100% of tus',
      measured: `${pct(vsTus)} (${fmt(ours.median)} vs ${fmt(tusRate.median)} MiB/s)`,
    }),
    {
      name: 'No server RSS growth with file size',
      source: 'issue 10',
      wanted: `growth at ${fmtMiB(big)} ≈ growth at ${fmtMiB(small)}`,
      measured: platformGrows.length === 0 ? 'none of our apps grows' : platformGrows.map(([a, g]) => `${a} +${fmtMiB(g)}`).join(', '),
      met: platformGrows.length === 0,
    },
  ];
  return {
    id: 3,
    title: 'Big files',
    lines: [
      `One file of ${fmtMiB(big)} per run, ${runs} run${runs > 1 ? 's' : ''}, made on the fly (a stream, never held in memory), ${PART_SIZE / MiB} MiB parts, ${PARALLEL} parts in flight ` +
        `for our client and for the SDK (queueSize). Ours: POST /v1/uploads (multipart) → parts PUT to pre-signed URLs → POST …/complete; ` +
        `MiB/s over create → complete answered. tus: @tus/server ${pkgVersion('@tus/server')} + @tus/s3-store ${pkgVersion('@tus/s3-store')} in a child process ` +
        `(part size ${PART_SIZE / MiB} MiB), one creation POST and one PATCH of the whole stream (tus-js-client's default). All three into the same bucket. ` +
        `Runs interleaved. CPU of the servers read from /proc/<pid>/stat before and after; client CPU is the benchmark process.`,
      '',
      ...table(['method', ' MiB/s', ' ratio to the SDK', ' server CPU s', ' client CPU s'], rows),
      '',
      `Ours from create to COMPLETED (its VALIDATION job included): ${fmtFigure(toCompleted, 1)} s.`,
      '',
      `Peak RSS and RSS growth of the servers at ${fmtMiB(small)} and ${fmtMiB(big)} (scenario 6):`,
      '',
      ...table(['method', 'process', ` peak RSS ${fmtMiB(small)}`, ` peak RSS ${fmtMiB(big)}`, ` growth ${fmtMiB(small)}`, ` growth ${fmtMiB(big)}`], memRows),
    ],
    targets,
    data: { big, small, partSize: PART_SIZE, parallel: PARALLEL, transfers, memory },
  };
}

function pkgVersion(name: string): string {
  return (require(join(ROOT, 'node_modules', name, 'package.json')) as { version: string }).version;
}

export const bigFiles: Scenario = { id: 3, key: 'big', title: 'big files', run };
