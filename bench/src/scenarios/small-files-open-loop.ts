import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuTable, CpuMeter, CpuWindow, IdleRates, ProcessGroup, sleep } from '../accounting';
import { System } from '../apps';
import { call, GATEWAY, openEventStream, putObject, tokenFor } from '../client';
import { parseEventStream } from '../../../libs/client/src/event-stream';
import { SessionWatch } from '../events';
import { Target, table, thresholdTarget } from '../report';
import { fmt, percentile } from '../stats';
import { SIZE, smallFileBody } from './small-file';

/** Files offered per second, whatever the system does with them. */
export const OFFERED_RATE = 100;
/**
 * Uploads in flight at most (create + PUT), like the connection limit of a client: a file offered while all
 * are busy waits for one, and counts in the backlog meanwhile. A healthy system at 100 files/s has a handful in
 * flight; without a bound a slow gateway would get hundreds of requests at once and shed them (503).
 */
const MAX_IN_FLIGHT = 32;
/**
 * Every LIVE_EVERY-th file is watched over its live stream (GET /v1/uploads/:id/events), as the demo page and the
 * SDK watch a file: opened after the create, the PUT sent once the snapshot arrived. Those files belong to
 * LIVE_USERS users in turn (a caller may hold only SSE_MAX_STREAMS_PER_CALLER streams, like a browser's tabs).
 */
const LIVE_EVERY = 2;
const LIVE_USERS = 64;
/** Sampling interval of the bench process's event-loop delay, ms. */
const LOOP_RESOLUTION_MS = 10;

/** One file's live stream: when its snapshot and its session.uploaded / session.completed events arrived here. */
interface LiveWatch {
  snapshot: Promise<void>;
  uploadedAt?: number;
  completedAt?: number;
  close: () => void;
  failure?: string;
}

async function watchLive(id: string, token: string): Promise<LiveWatch> {
  const controller = new AbortController();
  const res = await openEventStream(`${GATEWAY}/v1/uploads/${id}/events`, { accept: 'text/event-stream', authorization: `Bearer ${token}` }, controller.signal);
  if (!res.body) throw new Error(`GET /v1/uploads/${id}/events answered ${res.status}: ${res.text}`);
  let snapshotSeen!: () => void;
  const w: LiveWatch = { snapshot: new Promise<void>((r) => (snapshotSeen = r)), close: () => controller.abort() };
  void (async () => {
    try {
      for await (const e of parseEventStream(res.body!)) {
        if (e.event === 'snapshot') snapshotSeen();
        else if (e.event === 'session.uploaded') w.uploadedAt ??= Date.now();
        else if (e.event === 'session.completed') w.completedAt ??= Date.now();
        else if (e.event === 'session.failed') w.failure = e.data;
      }
    } catch (e) {
      if (!controller.signal.aborted) w.failure = String(e);
    } finally {
      snapshotSeen();
    }
  })();
  return w;
}

export interface OpenLoopResult {
  rate: number;
  offered: number;
  offerSeconds: number;
  drainSeconds: number;
  completed: number;
  /** Per second during the offering, from the events' occurredAt. */
  completedPerSecond: number;
  /** The store's notification heard on the bus → UPLOADED committed (occurredAt). */
  notificationToUploaded: { p50: number; p99: number; n: number };
  /** PUT answered → the store's notification heard on the bus: the store's own sending delay. */
  putToNotification: { p50: number; p99: number; n: number };
  /** PUT answered → UPLOADED committed: both of the above. */
  putToUploaded: { p50: number; p99: number };
  /** This process's event-loop delay while offering (its timestamps carry it), ms. */
  benchLoopDelay: { p50: number; p99: number };
  /** Notification heard / PUT answered → session.uploaded seen by an SSE client of the file; committed (occurredAt) → seen. */
  live: {
    notificationToSeen: { p50: number; p99: number };
    putToSeen: { p50: number; p99: number };
    committedToSeen: { p50: number; p99: number };
    /** UPLOADED committed → session.uploaded heard on the bus by this process (the outbox relay and the broker). */
    committedToBus: { p50: number; p99: number };
    /** session.uploaded heard on the bus → seen on the live stream (the gateway's fan-out and the HTTP response). */
    busToSeen: { p50: number; p99: number };
    completedSeen: { p50: number; p99: number };
    n: number;
    watched: number;
  };
  createToCompleted: { p50: number; p99: number };
  offeredToCompleted: { p50: number; p99: number };
  uploadedToCompleted: { p50: number; p99: number };
  create: { p50: number; p99: number };
  /** Offered → its create sent (all MAX_IN_FLIGHT clients busy meanwhile). */
  waitForClient: { p50: number; p99: number };
  backlog: { atOfferEnd: number; max: number; slopePerSecond: number };
  /** Last completion − last PUT answered, ms (Infinity when not all completed). */
  drainMs: number;
  keptUp: boolean;
  why: string[];
  cpu: CpuWindow;
}

/** Least-squares slope of y over x. */
function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/**
 * The open loop: a new small file every 1/OFFERED_RATE s (create → PUT, not waiting for anything), for
 * `offerSeconds`; then up to `drainSeconds` for the last ones to complete. Whether the system kept up is read
 * from the backlog (files offered but not COMPLETED, wherever they wait) sampled every 250 ms: it must not grow while files keep
 * coming, and it must drain once they stop. A backlog is a finding, not a failure; any non-2xx is a failure.
 */
export async function openLoop(opts: {
  sys: System;
  watch: SessionWatch;
  token: string;
  groups: ProcessGroup[];
  quick: boolean;
  log: (m: string) => void;
}): Promise<OpenLoopResult> {
  const rate = OFFERED_RATE;
  const offerSeconds = opts.quick ? 2 : 15;
  const drainSeconds = opts.quick ? 8 : 30;
  const n = rate * offerSeconds;
  const body = randomBytes(SIZE);
  const files: { id?: string; offeredAt: number; t0?: number; t1?: number; t2?: number; live?: LiveWatch }[] = [];
  const liveTokens = Array.from({ length: LIVE_USERS }, (_, k) => tokenFor(`bench-live-${k}`));
  const tasks: Promise<void>[] = [];
  let inFlight = 0;
  const slotFreed: (() => void)[] = [];
  const takeSlot = async () => {
    while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => slotFreed.push(r));
    inFlight++;
  };
  const freeSlot = () => {
    inFlight--;
    slotFreed.shift()?.();
  };
  let failure: unknown = null;
  const samples: { t: number; backlog: number }[] = [];
  const ids = () => files.filter((f) => f.t2 !== undefined).map((f) => f.id!);

  await opts.watch.hearNotifications(true);
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const meter = new CpuMeter(opts.groups).start();
  const start = performance.now();
  const sampler = setInterval(() => {
    const known = files.filter((f) => f.id !== undefined).map((f) => f.id!);
    samples.push({ t: (performance.now() - start) / 1000, backlog: files.length - opts.watch.countSettled(known) });
  }, 250);
  try {
    for (let i = 0; i < n && failure === null; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const f: (typeof files)[number] = { offeredAt: Date.now() };
      files.push(f);
      const liveToken = i % LIVE_EVERY === 0 ? liveTokens[(i / LIVE_EVERY) % LIVE_USERS] : null;
      tasks.push(
        (async () => {
          await takeSlot();
          try {
            f.t0 = Date.now();
            const created = await call('POST', '/v1/uploads', { token: liveToken ?? opts.token, body: smallFileBody() });
            f.id = created.id;
            f.t1 = Date.now();
            if (liveToken) {
              f.live = await watchLive(created.id, liveToken);
              await f.live.snapshot;
            }
            await putObject(created.upload.url, body, created.upload.headers);
            f.t2 = Date.now();
          } finally {
            freeSlot();
          }
        })().catch((e: unknown) => {
          failure ??= e;
        }),
      );
    }
    // The offering ends when the last file is offered (its create may answer later: a slow gateway is part of the backlog).
    const offerEnd = (performance.now() - start) / 1000;
    await Promise.all(tasks);
    if (failure) throw failure;
    const deadline = performance.now() + drainSeconds * 1000;
    const all = ids();
    while (opts.watch.countSettled(all) < all.length && performance.now() < deadline) await sleep(100);
    const cpu = meter.stop();
    clearInterval(sampler);
    opts.sys.assertAlive();
    // The streams' last events travel after the bus's: give them a moment, then close every stream.
    const watched = files.filter((f) => f.live);
    const liveDeadline = performance.now() + 5_000;
    while (
      watched.some((f) => f.live!.completedAt === undefined && f.live!.failure === undefined && opts.watch.times.get(f.id!)?.completedAt !== undefined) &&
      performance.now() < liveDeadline
    )
      await sleep(50);
    for (const f of watched) f.live!.close();

    const times = files.map((f) => ({ ...f, ev: opts.watch.times.get(f.id!) }));
    const failed = times.filter((f) => f.ev?.failed);
    if (failed.length > 0) throw new Error(`${failed.length} of ${n} files FAILED in the open loop (first: ${failed[0].ev!.failed})`);
    const done = times.filter((f) => f.ev?.completedAt !== undefined);
    loopDelay.disable();
    const notified = times.filter((f) => f.ev?.notifiedAt !== undefined);
    const notif = notified.filter((f) => f.ev!.uploadedAt !== undefined).map((f) => f.ev!.uploadedAt! - f.ev!.notifiedAt!);
    const putToNotification = notified.map((f) => f.ev!.notifiedAt! - f.t2!);
    const putToUploaded = times.filter((f) => f.ev?.uploadedAt !== undefined).map((f) => f.ev!.uploadedAt! - f.t2!);
    // Not completed by the deadline = forever. From the create, and from the moment the file was offered (a wait for a free client counts).
    const total = times.map((f) => (f.ev?.completedAt !== undefined ? f.ev.completedAt - f.t0! : Infinity));
    const offeredTotal = times.map((f) => (f.ev?.completedAt !== undefined ? f.ev.completedAt - f.offeredAt : Infinity));
    const jobs = done.filter((f) => f.ev!.uploadedAt !== undefined).map((f) => f.ev!.completedAt! - f.ev!.uploadedAt!);
    // Each watched file's times on its stream (live) beside those on the bus (ev).
    const streams = times.filter((f) => f.live && f.ev).map((f) => ({ put: f.t2!, live: f.live!, ev: f.ev! }));
    const seen = streams.filter((s) => s.live.uploadedAt !== undefined && s.ev.uploadedAt !== undefined);
    const putToSeen = seen.map((s) => s.live.uploadedAt! - s.put);
    const notificationToSeen = seen.filter((s) => s.ev.notifiedAt !== undefined).map((s) => s.live.uploadedAt! - s.ev.notifiedAt!);
    const committedToSeen = seen.map((s) => s.live.uploadedAt! - s.ev.uploadedAt!);
    const onBus = seen.filter((s) => s.ev.uploadedHeardAt !== undefined);
    const committedToBus = onBus.map((s) => s.ev.uploadedHeardAt! - s.ev.uploadedAt!);
    const busToSeen = onBus.map((s) => s.live.uploadedAt! - s.ev.uploadedHeardAt!);
    const completedSeen = streams
      .filter((s) => s.live.completedAt !== undefined && s.ev.completedAt !== undefined)
      .map((s) => s.live.completedAt! - s.ev.completedAt!);
    const firstT0 = Math.min(...times.map((f) => f.offeredAt));
    const inOffer = done.filter((f) => f.ev!.completedAt! - firstT0 <= offerEnd * 1000).length;
    const lastPut = Math.max(...times.map((f) => f.t2!));
    const drainMs = done.length === n ? Math.max(...done.map((f) => f.ev!.completedAt!)) - lastPut : Infinity;
    const during = samples.filter((s) => s.t <= offerEnd);
    const secondHalf = during.filter((s) => s.t >= offerEnd / 2).map((s) => ({ x: s.t, y: s.backlog }));
    const atOfferEnd = during.at(-1)?.backlog ?? 0;
    const growth = slope(secondHalf);
    const why: string[] = [];
    if (done.length < n) why.push(`${n - done.length} of ${n} files not COMPLETED ${drainSeconds} s after the last one was offered`);
    if (growth > rate * 0.05) why.push(`the backlog grew by ${fmt(growth, 1)} files/s in the second half of the offering`);
    if (drainMs > 5000 && Number.isFinite(drainMs)) why.push(`the last file completed ${fmt(drainMs / 1000, 1)} s after the last PUT`);
    opts.log(
      `  open loop ${rate} files/s for ${offerSeconds} s: ${done.length}/${n} completed, backlog at end of offering ${atOfferEnd}, ${why.length ? 'backlog grew' : 'kept up'}`,
    );
    const pq = (v: number[]) => ({ p50: percentile(v, 50), p99: percentile(v, 99) });
    return {
      rate,
      offered: n,
      offerSeconds,
      drainSeconds,
      completed: done.length,
      completedPerSecond: inOffer / offerEnd,
      notificationToUploaded: { ...pq(notif), n: notif.length },
      putToNotification: { ...pq(putToNotification), n: putToNotification.length },
      putToUploaded: pq(putToUploaded),
      // The histogram holds whole timer intervals: the delay is what exceeds the resolution.
      benchLoopDelay: {
        p50: Math.max(0, loopDelay.percentile(50) / 1e6 - LOOP_RESOLUTION_MS),
        p99: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      },
      live: {
        notificationToSeen: pq(notificationToSeen),
        putToSeen: pq(putToSeen),
        committedToSeen: pq(committedToSeen),
        committedToBus: pq(committedToBus),
        busToSeen: pq(busToSeen),
        completedSeen: pq(completedSeen),
        n: seen.length,
        watched: watched.length,
      },
      createToCompleted: pq(total),
      offeredToCompleted: pq(offeredTotal),
      uploadedToCompleted: pq(jobs),
      create: pq(times.map((f) => f.t1! - f.t0!)),
      waitForClient: pq(times.map((f) => f.t0! - f.offeredAt)),
      backlog: { atOfferEnd, max: Math.max(0, ...samples.map((s) => s.backlog)), slopePerSecond: growth },
      drainMs,
      keptUp: why.length === 0,
      why,
      cpu,
    };
  } finally {
    clearInterval(sampler);
    loopDelay.disable();
    await opts.watch.hearNotifications(false);
    meter.stop();
    for (const f of files) f.live?.close();
  }
}

const ms = (v: number) => (Number.isFinite(v) ? fmt(v, 0) : 'never (backlog)');
const withMs = (v: number) => (Number.isFinite(v) ? `${fmt(v, 0)} ms` : 'never (backlog)');

export function openLoopLines(r: OpenLoopResult, idle: IdleRates | null, cores: number): string[] {
  return [
    `A new 4 KiB file every ${fmt(1000 / r.rate, 0)} ms (${r.rate} files/s offered, whatever the system does) for ${r.offerSeconds} s: ${r.offered} files, each POST /v1/uploads → PUT ` +
      `by one of at most ${MAX_IN_FLIGHT} clients at once (a file offered while all are busy waits for one), nobody waiting for COMPLETED; then up to ${r.drainSeconds} s for the last to complete. Backlog = files offered but not yet COMPLETED (waiting for their create, their PUT or their jobs), sampled every 250 ms. ` +
      `Every ${LIVE_EVERY === 2 ? 'other' : `${LIVE_EVERY}th`} file belongs to one of ${LIVE_USERS} users who watches it on its live stream (server-sent events, opened after the create; the PUT waits for the snapshot). ` +
      `Verdict: **${r.keptUp ? 'kept up' : 'backlog grew'}**${r.why.length ? ` (${r.why.join('; ')})` : ''}.`,
    '',
    ...table(
      ['', ' value'],
      [
        ['files COMPLETED / offered', `${r.completed} / ${r.offered}`],
        ['completed per second while offering', fmt(r.completedPerSecond, 1)],
        ['backlog at the end of the offering / at most', `${r.backlog.atOfferEnd} / ${r.backlog.max}`],
        ['backlog growth in the second half of the offering', `${fmt(r.backlog.slopePerSecond, 1)} files/s`],
        ['last COMPLETED after the last PUT', Number.isFinite(r.drainMs) ? `${fmt(r.drainMs, 0)} ms` : 'not all completed'],
      ],
    ),
    '',
    ...table(
      ['stage (open loop)', ' p50 ms', ' p99 ms'],
      [
        [`offered → a client free (at most ${MAX_IN_FLIGHT} in flight)`, ms(r.waitForClient.p50), ms(r.waitForClient.p99)],
        ['create (POST /v1/uploads)', ms(r.create.p50), ms(r.create.p99)],
        [
          `PUT answered → the store's notification heard on the bus (${r.putToNotification.n} files; the store's own sending)`,
          ms(r.putToNotification.p50),
          ms(r.putToNotification.p99),
        ],
        [`notification heard → UPLOADED committed (${r.notificationToUploaded.n} files)`, ms(r.notificationToUploaded.p50), ms(r.notificationToUploaded.p99)],
        ['PUT answered → UPLOADED committed (both of the above)', ms(r.putToUploaded.p50), ms(r.putToUploaded.p99)],
        [
          `notification heard → session.uploaded seen on the file's live stream (${r.live.n} of ${r.live.watched} watched files)`,
          ms(r.live.notificationToSeen.p50),
          ms(r.live.notificationToSeen.p99),
        ],
        ['PUT answered → session.uploaded seen on the live stream', ms(r.live.putToSeen.p50), ms(r.live.putToSeen.p99)],
        ['UPLOADED committed → seen on the live stream', ms(r.live.committedToSeen.p50), ms(r.live.committedToSeen.p99)],
        ['… of which committed → session.uploaded heard on the bus (outbox relay, broker)', ms(r.live.committedToBus.p50), ms(r.live.committedToBus.p99)],
        ['… of which heard on the bus → seen on the live stream (gateway fan-out, HTTP)', ms(r.live.busToSeen.p50), ms(r.live.busToSeen.p99)],
        ['COMPLETED committed → session.completed seen on the live stream', ms(r.live.completedSeen.p50), ms(r.live.completedSeen.p99)],
        ['UPLOADED → COMPLETED', ms(r.uploadedToCompleted.p50), ms(r.uploadedToCompleted.p99)],
        ['create → COMPLETED (not completed = never)', ms(r.createToCompleted.p50), ms(r.createToCompleted.p99)],
        ['offered → COMPLETED (not completed = never)', ms(r.offeredToCompleted.p50), ms(r.offeredToCompleted.p99)],
      ],
    ),
    '',
    `"Heard on the bus": the bench's own queue on the storage events exchange gets each notification as storage-events' queue does; its clock carries the bench process's event-loop delay (p50 ${fmt(r.benchLoopDelay.p50, 1)} ms, p99 ${fmt(r.benchLoopDelay.p99, 1)} ms while offering). ` +
      `The store sends its notifications on its own schedule: Ceph RGW 16.2's AMQP sender thread sleeps 100 ms whenever a pass of its loop found nothing to publish (a constant in rgw_amqp.cc, not a setting), so a notification leaves 0–100 ms after the PUT was answered, whatever the platform does.`,
    '',
    ...cpuTable([{ title: 'open loop', runs: [{ window: r.cpu, units: Math.max(1, r.completed) }], unit: 'file' }], idle, cores),
  ];
}

export function openLoopTargets(r: OpenLoopResult): Target[] {
  return [
    thresholdTarget({
      name: `Open loop at ${r.rate} files/s: notification → UPLOADED p99`,
      source: 'issue 14',
      value: r.notificationToUploaded.p99,
      limit: 50,
      atLeast: false,
      wanted: '< 50 ms',
      measured: `${withMs(r.notificationToUploaded.p99)} (p50 ${withMs(r.notificationToUploaded.p50)}) from the notification heard on the bus; from the PUT's answer p99 ${withMs(r.putToUploaded.p99)}, of which the store's sending p99 ${withMs(r.putToNotification.p99)}`,
    }),
    thresholdTarget({
      name: `Open loop at ${r.rate} files/s: notification → event seen by an SSE client, p99`,
      source: 'issue 20',
      value: r.live.notificationToSeen.p99,
      limit: 100,
      atLeast: false,
      wanted: '< 100 ms',
      measured: `${withMs(r.live.notificationToSeen.p99)} from the notification heard on the bus (p50 ${withMs(r.live.notificationToSeen.p50)}; ${r.live.n} of ${r.live.watched} watched files); committed → seen p99 ${withMs(r.live.committedToSeen.p99)}; from the PUT's answer p99 ${withMs(r.live.putToSeen.p99)}`,
    }),
    {
      name: `Open loop at ${r.rate} files/s: the system keeps up`,
      source: 'issue 14',
      wanted: 'no growing backlog',
      measured: `${r.keptUp ? 'kept up' : 'backlog grew'}; create → COMPLETED p99 ${withMs(r.createToCompleted.p99)}`,
      met: r.keptUp,
      note: r.why.join('; ') || undefined,
    },
  ];
}
