import { S3Client } from '@aws-sdk/client-s3';
import amqp from 'amqplib';
import { Client } from 'pg';
import { jobQueue, jobRoutingKey, JobType, Topology } from '@app/contracts';
import { AppName, RunningApp, startApp, stopApp } from '../support/apps';
import { TestDb } from '../support/db';
import { objectExistsIn, TestStore } from '../support/store';
import { listPartsStatus, multipartUploadsUnder, putPart } from '../support/multipart';
import { StoreProxy } from '../support/store-proxy';
import { queueDepth, publishRaw } from '../support/broker';
import { api, putToUrl } from '../support/http';
import { sleep, waitFor } from '../support/poll';
import { Counted, jobOutcome } from '../support/outcomes';
import { PORT_BASE, testEnv } from '../support/test-env';
import { LoadDriver, TrackedUpload } from './support/load';
import { EventLedger, report, sessionStates, sql, waitAllFinal, offCleanProfile } from './support/ledger';
import { infra, PRIVATE, provisionNamespace, provisionStore, usePrivateInfra } from './support/private-infra';

jest.setTimeout(240_000);

const UPLOADS = Number(process.env.FAULTS_UPLOADS ?? 150);
const SHUTDOWN_TIMEOUT_SECONDS = 10;
/** Short periods so that recovery paths (reconciler, lease expiry) show within the test's time. */
const APP_ENV = {
  RECONCILER_INTERVAL_SECONDS: '2',
  RECONCILER_GRACE_SECONDS: '5',
  JOB_LEASE_SECONDS: '5',
  SHUTDOWN_TIMEOUT_SECONDS: String(SHUTDOWN_TIMEOUT_SECONDS),
  DEFAULT_JOBS: '*/*=VALIDATION',
  JOB_TYPES: 'VALIDATION',
};
const NAMES: AppName[] = ['upload-gateway', 'storage-events', 'job-processor'];

/**
 * Nothing lost, nothing duplicated: a load of small uploads through the three apps (as processes) on a
 * private RabbitMQ, Postgres and Ceph RGW, with faults injected while it runs; then every upload's final
 * state and event counts are checked. Only instances this suite started are ever stopped.
 */
describe('faults', () => {
  const apps = new Map<AppName, RunningApp>();
  const ledger = new EventLedger();

  const start = async (name: AppName, env: Record<string, string> = {}) =>
    apps.set(name, await startApp(name, { ...APP_ENV, ...env }, { readyTimeoutMs: 90_000 }));
  const pids = () => NAMES.map((n) => apps.get(n)!.process.pid);
  /**
   * SIGTERM and wait: 'graceful' when the app closed and exited by itself (Nest re-raises the signal once
   * its shutdown hooks ran, so the exit is by SIGTERM, or 0); 'deadline' when its own shutdown deadline hit.
   */
  const stopGracefully = async (name: AppName): Promise<string> => {
    const app = apps.get(name)!;
    const code = await stopApp(app, 'SIGTERM');
    if (code === 0 || app.process.signalCode === 'SIGTERM') return 'graceful';
    return code === 1 ? 'deadline' : `exit ${code ?? app.process.signalCode}`;
  };

  /** Every upload COMPLETED with exactly one job (its one attempt may have been retried after a crash) and one of each event. */
  async function expectAllCompleted(what: string, uploads: TrackedUpload[], load?: LoadDriver): Promise<void> {
    const ids = uploads.map((u) => u.id);
    const t0 = Date.now();
    const states = await waitAllFinal(ids);
    const settledMs = Date.now() - t0;
    const byStatus: Record<string, number> = {};
    for (const s of states.values()) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    const events = await ledger.settle(ids);
    const duplicateJobs = [...states.values()].filter((s) => s.jobs !== 1).length;
    const attemptsAbove1 = [...states.values()].filter((s) => s.attempts > 1).length;
    const redelivered = [...events.values()].reduce((n, c) => n + Object.values(c).reduce((m, [deliveries, distinct]) => m + deliveries - distinct, 0), 0);
    const off = offCleanProfile(ids, events);
    report(
      `${what}: ${ids.length} uploads → ${JSON.stringify(byStatus)}; final ${settledMs} ms after the load; sessions with ≠1 job: ${duplicateJobs}; ` +
        `jobs retried after a crash: ${attemptsAbove1}; sessions whose events differ from a clean run: ${off.length}; events delivered twice (same id): ${redelivered}` +
        (load ? `; client: ${JSON.stringify(load.figures)}` : ''),
    );
    expect(load?.errors ?? []).toEqual([]);
    expect(byStatus).toEqual({ COMPLETED: ids.length });
    expect(duplicateJobs).toBe(0);
    expect(off.map((id) => ({ id, events: events.get(id) }))).toEqual([]);
    // What the user sees: GET says COMPLETED for a sample of them.
    for (const u of uploads.slice(0, 20)) {
      const res = await api('GET', `/v1/uploads/${u.id}`, { uploadToken: u.uploadToken });
      expect(res.body.status).toBe('COMPLETED');
    }
  }

  beforeAll(async () => {
    const t0 = Date.now();
    const up = await infra('up');
    usePrivateInfra();
    const provisioned = provisionNamespace();
    report(`${up} (${Date.now() - t0} ms); ${provisioned.slice(0, 160)}`);
    await ledger.bind();
    await Promise.all(NAMES.map((name) => start(name)));
  });

  afterAll(async () => {
    await Promise.all([...apps.values()].map((a) => stopApp(a, 'SIGKILL')));
    if (process.env.FAULTS_KEEP_INFRA !== '1') await infra('down').catch((e) => report(String(e)));
  });

  it('kill -9 of each app in turn during the load: every upload COMPLETED, no duplicate jobs, one session.completed each', async () => {
    const load = new LoadDriver();
    const running = load.run(UPLOADS, { perSecond: UPLOADS / 30, tag: 'kill' });
    const kills: string[] = [];
    const restarts: Promise<void>[] = [];
    for (const name of NAMES) {
      await sleep(5_000);
      const victim = apps.get(name)!;
      victim.process.kill('SIGKILL');
      await victim.exited;
      const t = Date.now();
      // Restarted in the background: the next app is killed while this one is still coming back.
      restarts.push(start(name).then(() => void kills.push(`${name} back in ${Date.now() - t} ms`)));
    }
    const uploads = await running;
    await Promise.all(restarts);
    report(`kill -9: ${kills.join(', ')}`);
    await expectAllCompleted('kill -9 each app', uploads, load);
  });

  it('RabbitMQ stopped for 12 s (plus its stop and start) during the load, then started: every upload COMPLETED, apps never restarted', async () => {
    const before = pids();
    const load = new LoadDriver();
    const running = load.run(UPLOADS, { perSecond: UPLOADS / 20, tag: 'rabbit' });
    await sleep(4_000);
    const t = Date.now();
    await infra('rabbit-stop');
    const stopped = Date.now();
    await sleep(12_000);
    const restart = Date.now();
    await infra('rabbit-start');
    report(`RabbitMQ: stop took ${stopped - t} ms, stopped for ${restart - stopped} ms, start took ${Date.now() - restart} ms`);
    const uploads = await running;
    await expectAllCompleted('RabbitMQ outage', uploads, load);
    const reconciled = sql(`select count(*) from processed_storage_event where identity like '%"reconciler:%'`)[0][0];
    report(`RabbitMQ outage: sessions advanced by the reconciler (notification dropped by the store): ${reconciled}`);
    expect(pids()).toEqual(before);
    expect(NAMES.map((n) => apps.get(n)!.process.exitCode)).toEqual([null, null, null]);
  });

  it('Postgres restarted during the load: every upload COMPLETED; the gateway answers 503 with Retry-After, never hangs', async () => {
    const before = pids();
    const load = new LoadDriver();
    const running = load.run(UPLOADS, { perSecond: UPLOADS / 15, tag: 'pg' });
    await sleep(4_000);
    const t = Date.now();
    await infra('pg-stop', 'fast');
    await sleep(6_000);
    await infra('pg-start');
    report(`Postgres down for ${Date.now() - t} ms`);
    const uploads = await running;
    await expectAllCompleted('Postgres restart', uploads, load);
    expect(load.figures.unavailable503).toBeGreaterThan(0);
    expect(load.figures.retryAfterMissing).toBe(0);
    expect(load.figures.slowestApiMs).toBeLessThan(10_000);
    expect(pids()).toEqual(before);
  });

  it('every storage notification delivered twice and shuffled (removals first): same final states and event counts as a clean run; job message replays change nothing', async () => {
    // The reconciler off, so that only notifications move sessions; the bucket's notifications sent to a tap.
    const t = Date.now();
    const stopped = await stopGracefully('storage-events');
    report(`storage-events SIGTERM → ${stopped} in ${Date.now() - t} ms`);
    const TAP = 'faults.tap';
    const conn = await amqp.connect(testEnv().AMQP_URL);
    const ch = await conn.createChannel();
    try {
      expect(stopped).toBe('graceful');
      await start('storage-events', { RECONCILER_INTERVAL_SECONDS: '0' });
      await ch.assertExchange(TAP, 'topic', { durable: true });
      await ch.assertQueue(TAP, { durable: true });
      await ch.bindQueue(TAP, TAP, '#');
      // A topic of its own, on an endpoint spelled differently: RGW keeps one AMQP connection per endpoint,
      // bound to one exchange ("exchange mismatch" otherwise). The bucket's notification is restored below.
      provisionStore({
        STORAGE_EVENTS_EXCHANGE: TAP,
        STORAGE_EVENTS_TOPIC: `${testEnv().STORAGE_EVENTS_TOPIC}-tap`,
        AMQP_URL: testEnv().AMQP_URL.replace('127.0.0.1', 'localhost'),
      });
      const uploads = await new LoadDriver().run(100, { perSecond: 50, tag: 'dup' });
      await waitFor(
        () => queueDepth(TAP),
        (n) => n >= uploads.length,
        { timeoutMs: 30_000, what: 'every notification on the tap' },
      );
      const originals: { routingKey: string; body: any }[] = [];
      for (let m = await ch.get(TAP, { noAck: true }); m; m = await ch.get(TAP, { noAck: true })) {
        originals.push({ routingKey: m.fields.routingKey, body: JSON.parse(m.content.toString('utf8')) });
      }
      const shuffled = [...originals, ...originals].sort(() => Math.random() - 0.5);
      // A removal before the creation, for a tenth of them: it must not undo anything.
      const removals = originals.slice(0, 10).map((o) => ({
        routingKey: o.routingKey,
        body: {
          Records: o.body.Records.map((r: any) => ({
            ...r,
            eventName: 'ObjectRemoved:Delete',
            s3: { ...r.s3, object: { ...r.s3.object, sequencer: `0${r.s3.object.sequencer ?? ''}` } },
          })),
        },
      }));
      for (const m of [...removals, ...shuffled]) await publishRaw(testEnv().STORAGE_EVENTS_EXCHANGE, m.routingKey, [JSON.stringify(m.body)]);
      report(`duplicates: ${originals.length} notifications → ${shuffled.length} deliveries shuffled + ${removals.length} removals before their creation`);
      await expectAllCompleted('notifications twice, shuffled', uploads);

      // Job messages replayed (twice each): the claim is a compare-and-set, nothing runs again.
      const jobs = sql(`select id, session_id, type, attempts from processing_job where session_id in (${uploads.map((u) => `'${u.id}'`).join(',')})`);
      await ledger.settle([]);
      const eventsBefore = ledger.events.length;
      const processor = apps.get('job-processor')!.port;
      const counted = await Counted.from(processor);
      for (const [jobId, sessionId, type] of jobs) {
        const body = JSON.stringify({ version: 1, jobId, sessionId, type, correlationId: sessionId });
        await publishRaw(Topology.jobsExchange, jobRoutingKey(type as JobType), [body, body]);
      }
      // Every replayed message handled (counted by the processor, whatever its outcome), what that wrote published,
      // and every published event taken: then "nothing ran again, no new event" is an assertion, not a hope.
      const handled = await counted.atLeast(jobOutcome(processor, { type: 'VALIDATION' }), jobs.length * 2, { timeoutMs: 60_000 });
      const after = sessionStates(uploads.map((u) => u.id));
      await ledger.settle([]);
      report(
        `job replays: outcomes counted ${handled}: completed ${await counted.since(jobOutcome(processor, { outcome: 'completed' }))}, duplicate ${await counted.since(jobOutcome(processor, { outcome: 'duplicate' }))}`,
      );
      expect(await counted.since(jobOutcome(processor, { outcome: 'completed' }))).toBe(0);
      const rerun = [...after.values()].filter((s) => s.attempts !== 1 || s.status !== 'COMPLETED').length;
      report(`job replays: ${jobs.length * 2} RunJob messages replayed → jobs run again: ${rerun}, new events: ${ledger.events.length - eventsBefore}`);
      expect(rerun).toBe(0);
      expect(ledger.events.length - eventsBefore).toBe(0);
    } finally {
      provisionStore();
      await conn.close();
      await stopApp(apps.get('storage-events')!, 'SIGTERM');
      await start('storage-events');
    }
  });

  it('1,000 garbage and malformed messages on the inbound exchange: all dead-lettered, consumer alive, real uploads unaffected', async () => {
    const dlqBefore = await queueDepth(Topology.storageNotificationsDeadQueue);
    const consumer = apps.get('storage-events')!.process.pid;
    const bucket = testEnv().S3_BUCKET;
    const garbage = (i: number): string => {
      switch (i % 5) {
        case 0:
          return `not json ${i} {`;
        case 1:
          return JSON.stringify({ hello: i });
        case 2:
          return JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket } } }] });
        case 3:
          return JSON.stringify({
            Records: [
              {
                eventName: 'ObjectCreated:Put',
                eventSource: 'ceph:s3',
                s3: { bucket: { name: bucket }, object: { key: `uploads/00000000-0000-4000-8000-${String(i).padStart(12, '0')}/x.txt`, size: -3 } },
              },
            ],
          });
        default:
          return JSON.stringify({
            Records: [
              {
                eventName: 'ObjectCreated:Put',
                eventSource: 'ceph:s3',
                s3: { bucket: { name: bucket }, object: { key: `uploads/00000000-0000-4000-8000-${String(i).padStart(12, '0')}/x.txt`, size: 3 } },
              },
            ],
          });
      }
    };
    const load = new LoadDriver();
    const running = load.run(50, { perSecond: 10, tag: 'garbage' });
    for (let i = 0; i < 1000; i += 100) {
      await publishRaw(
        testEnv().STORAGE_EVENTS_EXCHANGE,
        'garbage',
        Array.from({ length: 100 }, (_, k) => garbage(i + k)),
      );
      await sleep(300);
    }
    const uploads = await running;
    const dead = await waitFor(
      async () => (await queueDepth(Topology.storageNotificationsDeadQueue)) - dlqBefore,
      (n) => n >= 1000,
      { timeoutMs: 60_000, what: '1,000 dead letters' },
    );
    report(`garbage: 1000 published → ${dead} dead-lettered; storage-events pid ${consumer} → ${apps.get('storage-events')!.process.pid}`);
    expect(dead).toBe(1000);
    expect(apps.get('storage-events')!.process.exitCode).toBeNull();
    // Ready again once the flood is through (its checks time out at 2 s, which a starved 2-core machine can miss).
    await waitFor(
      async () => (await fetch(`http://127.0.0.1:${apps.get('storage-events')!.port}/health/ready`)).status,
      (s) => s === 200,
      { timeoutMs: 30_000, what: 'storage-events ready' },
    );
    await expectAllCompleted('garbage in between', uploads, load);
  });

  it('an abandoned upload expires (FAILED, EXPIRED, one session.failed) and leaves no object, even when its bytes come late', async () => {
    const s3 = new S3Client({
      endpoint: testEnv().S3_ENDPOINT,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: testEnv().S3_ACCESS_KEY, secretAccessKey: testEnv().S3_SECRET_KEY },
    });
    // Only the store's 404 for the object means absent: a wrong endpoint or credentials fail the test.
    const exists = (key: string) => objectExistsIn(s3, testEnv().S3_BUCKET, key);
    const driver = new LoadDriver();
    const bytes = Buffer.from('never sent in time');
    const res = await api('POST', '/v1/uploads', { body: { filename: 'abandoned.txt', contentType: 'text/plain', size: bytes.length } });
    expect(res.status).toBe(201);
    // Its expiry brought forward (the gateway's minimum is a minute): as if the client had gone away.
    sql(`update upload_session set expires_at = now() - interval '1 second' where id = '${res.body.id}'`);
    const expired = await waitFor(
      () => api('GET', `/v1/uploads/${res.body.id}`, { uploadToken: res.body.uploadToken }),
      (r) => r.body.status !== 'PENDING_UPLOAD',
      { timeoutMs: 20_000, what: 'expiry' },
    );
    expect(expired.body).toMatchObject({ status: 'FAILED', error: 'EXPIRED' });
    // The bytes arrive late (the pre-signed URL still works): the late object is removed.
    expect(await putToUrl(res.body.upload.url, bytes, res.body.upload.headers)).toBe(200);
    await waitFor(
      () => exists(res.body.objectKey),
      (e) => e === false,
      { timeoutMs: 20_000, what: 'the late object to be removed' },
    );
    const events = await ledger.settle([res.body.id]);
    report(`expiry: session ${expired.body.status}/${expired.body.error}; object after a late PUT: removed; events ${JSON.stringify(events.get(res.body.id))}`);
    expect(events.get(res.body.id)).toEqual({ 'session.failed': [1, 1] });
    void driver;
  });

  it('an abandoned multipart upload expires: FAILED (EXPIRED), its parts aborted in the store, one session.failed', async () => {
    const size = 12 * 1024 * 1024;
    const res = await api('POST', '/v1/uploads', {
      body: { filename: 'abandoned.bin', contentType: 'application/octet-stream', size, multipart: true, partSize: 5 * 1024 * 1024 },
    });
    expect(res.status).toBe(201);
    const { uploadId, parts } = res.body.upload;
    expect(uploadId).toEqual(expect.any(String));
    // One part sent, then the client goes away.
    expect((await putPart(parts[0].url, Buffer.alloc(5 * 1024 * 1024, 7))).status).toBe(200);
    expect(await listPartsStatus(res.body.objectKey, uploadId)).toBe(200);
    expect(await multipartUploadsUnder(res.body.objectKey)).toContain(uploadId);
    sql(`update upload_session set expires_at = now() - interval '1 second' where id = '${res.body.id}'`);
    const expired = await waitFor(
      () => api('GET', `/v1/uploads/${res.body.id}`, { uploadToken: res.body.uploadToken }),
      (r) => r.body.status !== 'PENDING_UPLOAD' && r.body.status !== 'UPLOADING',
      { timeoutMs: 20_000, what: 'expiry' },
    );
    expect(expired.body).toMatchObject({ status: 'FAILED', error: 'EXPIRED' });
    // The reconciler aborts the multipart upload after the commit: its parts go (ListParts 404, not listed).
    await waitFor(
      () => listPartsStatus(res.body.objectKey, uploadId),
      (s) => s === 404,
      { timeoutMs: 20_000, what: 'the multipart upload aborted' },
    );
    expect(await multipartUploadsUnder(res.body.objectKey)).not.toContain(uploadId);
    const events = await ledger.settle([res.body.id]);
    expect(events.get(res.body.id)).toEqual({ 'session.failed': [1, 1] });
  });

  it('kill -9 of job-processor in the middle of a batch settle: 0 lost, 0 duplicate jobs, one session.completed each, one group.completed', async () => {
    const N = 12;
    const bytes = Array.from({ length: N }, (_, i) => Buffer.from(`mid-settle ${i} ${'y'.repeat(100 + i)}\n`));
    // No processor while the files arrive: the whole group then reaches one processor together.
    await stopApp(apps.get('job-processor')!, 'SIGKILL');
    const res = await api('POST', '/v1/groups', {
      body: { name: `mid-settle ${Date.now()}`, files: bytes.map((b, i) => ({ filename: `f${i}.txt`, contentType: 'text/plain', size: b.length })) },
    });
    expect(res.status).toBe(201);
    const uploads: TrackedUpload[] = res.body.uploads.map((u: any, i: number) => ({
      id: u.id,
      uploadToken: res.body.uploadToken,
      objectKey: u.objectKey,
      bytes: bytes[i],
      upload: u.upload,
    }));
    for (const u of uploads) expect(await putToUrl(u.upload.url, u.bytes, u.upload.headers)).toBe(200);
    const ids = uploads.map((u) => u.id);
    await waitFor(
      async () => sessionStates(ids),
      (m) => ids.every((id) => m.get(id)?.status === 'UPLOADED'),
      { timeoutMs: 60_000, what: 'every file UPLOADED' },
    );

    // The group's row held by the test: a settle that reaches the group's counters waits there, its job and
    // session rows written but not committed.
    const holder = new Client({ connectionString: testEnv().DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select id from upload_group where id = $1 for update', [res.body.id]);
      const processor = await startApp('job-processor', APP_ENV, { readyTimeoutMs: 90_000 });
      apps.set('job-processor', processor);
      // Asked on another connection: inside the holder's transaction pg_stat_activity would stay the snapshot of its first read.
      await waitFor(
        async () =>
          Number(sql(`select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%update upload_group g%completed_files%'`)[0][0]),
        (n) => n >= 1,
        { timeoutMs: 60_000, intervalMs: 50, what: 'a batch settle waiting at the group' },
      );
      const running = sql(`select count(*) from processing_job where session_id in (${ids.map((id) => `'${id}'`).join(',')}) and status = 'RUNNING'`)[0][0];
      processor.process.kill('SIGKILL');
      await processor.exited;
      report(`mid-settle: job-processor killed while its settle waited at the group (${running} of ${N} jobs RUNNING, committed)`);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      await holder.end();
    }
    await start('job-processor');
    await expectAllCompleted('kill -9 mid batch settle', uploads);
    const groupEvents = ledger.events.filter((e) => e.groupId === res.body.id && e.type.startsWith('group.'));
    expect(groupEvents.map((e) => e.type)).toEqual(['group.completed']);
    expect(sql(`select status, completed_files, failed_files from upload_group where id = '${res.body.id}'`)).toEqual([['COMPLETED', String(N), '0']]);
  });

  it('a channel the broker closes (consumer acknowledgement timeout) is reopened: the same processor takes the next job', async () => {
    const proxy = await StoreProxy.start(testEnv().S3_ENDPOINT, PORT_BASE + 16);
    const db = new TestDb();
    const store = new TestStore();
    let processor: RunningApp | undefined;
    // A consumer may hold a delivery 2 s on the private node; channels look at it when they tick (sent at once below).
    await infra('rabbit-eval', 'application:set_env(rabbit, consumer_timeout, 2000).');
    try {
      proxy.holdGets = true;
      processor = await startApp(
        'job-processor',
        { ...APP_ENV, JOB_TYPES: 'CHECKSUM', S3_ENDPOINT: proxy.url },
        { port: PORT_BASE + 3, readyTimeoutMs: 90_000 },
      );
      const [slow] = await db.seedUploadedJobs(1, { type: JobType.CHECKSUM, priority: 5, size: 5 });
      await store.put(slow.objectKey, Buffer.from('hello'));
      await waitFor(
        async () => proxy.heldGets,
        (n) => n >= 1,
        { timeoutMs: 30_000, what: 'the first job held in its read' },
      );
      await sleep(2_500);
      await infra('rabbit-eval', '[P ! tick || P <- rabbit_channel:list_local()], ok.');
      const health = await waitFor(
        async () => (await (await fetch(`http://127.0.0.1:${processor!.port}/health/ready`)).json()) as any,
        (h) => /^open \(last closed: .*acknowledgement/.test(h.info?.broker?.channels?.['consume jobs.checksum'] ?? ''),
        { timeoutMs: 30_000, what: 'the consumer channel closed by the broker and open again' },
      );
      report(`broker-closed channel: ${JSON.stringify(health.info.broker.channels['consume jobs.checksum'])}`);
      proxy.releaseGets();
      const [next] = await db.seedUploadedJobs(1, { type: JobType.CHECKSUM, priority: 5, size: 5 });
      await store.put(next.objectKey, Buffer.from('hello'));
      const done = await waitFor(
        async () => db.jobs([slow.jobId, next.jobId]),
        (js) => js.every((j) => j.status === 'COMPLETED'),
        { timeoutMs: 60_000, what: 'both jobs COMPLETED by the same processor' },
      );
      expect(done.map((j) => j.status)).toEqual(['COMPLETED', 'COMPLETED']);
      expect(processor.process.exitCode).toBeNull();
    } finally {
      await infra('rabbit-eval', 'application:set_env(rabbit, consumer_timeout, 1800000).');
      proxy.releaseGets();
      if (processor) await stopApp(processor);
      await proxy.close();
      await db.close();
      store.close();
    }
  });

  it('SIGTERM: every app shuts down by itself within SHUTDOWN_TIMEOUT_SECONDS', async () => {
    const figures: string[] = [];
    for (const name of NAMES) {
      const t = Date.now();
      const stopped = await stopGracefully(name);
      const ms = Date.now() - t;
      figures.push(`${name} ${stopped} in ${ms} ms`);
      expect(stopped).toBe('graceful');
      expect(ms).toBeLessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000);
      apps.delete(name);
    }
    report(`SIGTERM: ${figures.join(', ')}`);
  });
});
