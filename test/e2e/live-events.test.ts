import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { connect, Socket } from 'node:net';
import { DomainEventType } from '@app/contracts';
import { RunningApp, startApp, stopApp } from '../support/apps';
import { anUpload, textBytes } from '../support/builders';
import { Caller, createUpload, sendBytes } from '../support/flows';
import { api, ApiResponse, jwtFor, putToUrl } from '../support/http';
import { scrape, sample } from '../support/metrics';
import { waitFor } from '../support/poll';
import { SseConnection } from '../support/sse';
import { PORT_BASE, testEnv } from '../support/test-env';

jest.setTimeout(240_000);

const FINAL_SESSION_EVENTS = ['session.completed', 'session.failed', 'session.deleted'];

/**
 * Live progress over server-sent events, end to end: two gateway replicas (A creates, B streams), the real
 * notification path (Ceph RGW → RabbitMQ → storage-events → job-processor → outbox → uploads.events), and
 * streams read as a program (or a browser) would read them.
 */
describe('live events (e2e, two gateway replicas)', () => {
  const env = testEnv();
  const common = { JOB_TYPES: 'VALIDATION' };
  let apps: RunningApp[] = [];
  let a: RunningApp;
  let b: RunningApp;
  const A = `http://127.0.0.1:${PORT_BASE}`;
  const B = `http://127.0.0.1:${PORT_BASE + 20}`;
  const open: SseConnection[] = [];

  const alice = jwtFor(`alice-${randomUUID()}`);
  const bob = jwtFor(`bob-${randomUUID()}`);

  /** Opens a stream and keeps it to be closed after the test. */
  async function stream(url: string, caller: Caller & { headers?: Record<string, string> } = {}): Promise<SseConnection> {
    const s = await SseConnection.open(url, caller);
    open.push(s);
    return s;
  }

  async function createGroup(baseUrl: string, body: Record<string, unknown>, caller: Caller): Promise<ApiResponse> {
    const res = await api('POST', '/v1/groups', { body, ...caller, baseUrl });
    if (res.status !== 201) throw new Error(`POST /v1/groups: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }

  /** Adds one file to a group through a replica, and PUTs its bytes to the store. */
  async function addFileAndSend(baseUrl: string, groupId: string, caller: Caller, name: string): Promise<string> {
    const bytes = textBytes(`${name} ${Math.random()}\n`);
    const res = await api('POST', `/v1/groups/${groupId}/uploads`, { body: anUpload(bytes).named(name).build(), ...caller, baseUrl });
    if (res.status !== 201) throw new Error(`add ${name}: ${res.status} ${JSON.stringify(res.body)}`);
    expect(await putToUrl(res.body.upload.url, bytes, res.body.upload.headers)).toBe(200);
    return res.body.id;
  }

  beforeAll(async () => {
    apps = await Promise.all([
      startApp('storage-events', common),
      startApp('job-processor', common),
      // A: where files are created; at most 2 streams (the per-replica limit test).
      startApp('upload-gateway', { ...common, SSE_MAX_STREAMS: '2' }, { port: PORT_BASE }),
      // B: where clients stream; 1-second tickets, 1-second heartbeats, 3 streams per caller.
      startApp(
        'upload-gateway',
        { ...common, SSE_TICKET_TTL_SECONDS: '1', SSE_HEARTBEAT_SECONDS: '1', SSE_MAX_STREAMS_PER_CALLER: '3' },
        { port: PORT_BASE + 20 },
      ),
    ]);
    [, , a, b] = apps;
  });

  /** Streams a test dropped are closed on the servers too before the next test counts streams. */
  afterEach(async () => {
    for (const s of open.splice(0)) s.abort();
    for (const app of [a, b]) {
      if (!app) continue;
      await waitFor(
        async () => sample(await scrape(app.port), 'sse_open_streams'),
        (n) => n === 0,
        { timeoutMs: 10_000, what: `no stream open on ${app.port}` },
      );
    }
  });

  afterAll(async () => {
    await Promise.all(apps.map((x) => stopApp(x)));
  });

  it('a group streamed from B while its files are created through A: snapshot, every session.completed, then group.completed, and the stream closes', async () => {
    const caller = { token: alice };
    const group = await createGroup(A, { name: 'live', totalFiles: 5 }, caller);
    const before = await scrape(b.port);

    const live = await stream(`${B}/v1/groups/${group.body.id}/events`, caller);
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await live.waitUntil('the snapshot', (e) => e.length >= 1);
    expect(live.events[0]).toMatchObject({
      event: 'snapshot',
      data: { id: group.body.id, status: 'PENDING', totalFiles: 5, completedFiles: 0, failedFiles: 0 },
    });
    // The snapshot is the GET's JSON.
    const get = await api('GET', `/v1/groups/${group.body.id}`, { ...caller, baseUrl: B });
    expect(Object.keys(live.events[0].data).sort()).toEqual(Object.keys(get.body).sort());

    const sessionIds = await Promise.all([0, 1, 2, 3, 4].map((i) => addFileAndSend(A, group.body.id, caller, `live-${i}.txt`)));
    await live.waitForEnd(90_000);

    const events = live.events.slice(1);
    const completed = events.filter((e) => e.event === 'session.completed').map((e) => e.data.data.sessionId);
    expect(new Set(completed)).toEqual(new Set(sessionIds));
    // The group's final event comes last: the stream closes after it.
    expect(events[events.length - 1]).toMatchObject({
      event: 'group.completed',
      data: { type: 'group.completed', data: { groupId: group.body.id, status: 'COMPLETED', completedFiles: 5 } },
    });
    expect(events.filter((e) => e.event.startsWith('group.'))).toHaveLength(1);
    for (const e of events) {
      // event: the routing key; id: the envelope's id; data: the envelope.
      expect(e.data).toMatchObject({ type: e.event, id: e.id, version: 1 });
      expect(e.data.data.groupId).toBe(group.body.id);
    }
    // The sessions' own progress is there too (each file: uploaded, processing, its job, completed).
    expect(events.filter((e) => e.event === 'job.completed')).toHaveLength(5);

    // B sent them (one per event); A, with no stream open, held no queue and received nothing.
    const after = await scrape(b.port);
    expect(sample(after, 'sse_events_sent_total', { event: 'group.completed' }) - sample(before, 'sse_events_sent_total', { event: 'group.completed' })).toBe(
      1,
    );
    expect(sample(after, 'sse_events_sent_total', { event: 'snapshot' }) - sample(before, 'sse_events_sent_total', { event: 'snapshot' })).toBe(1);
    expect(sample(after, 'sse_streams_closed_total', { reason: 'final' })).toBeGreaterThanOrEqual(1);
    const onA = await scrape(a.port);
    expect(sample(onA, 'sse_live_subscription_active')).toBe(0);
    expect(sample(onA, 'sse_live_events_received_total')).toBe(0);
  });

  it('after a forced disconnect, a reconnect (to any replica, with Last-Event-ID) starts with a snapshot of the current counters', async () => {
    const caller = { token: alice };
    const group = await createGroup(A, { name: 'reconnect', totalFiles: 4 }, caller);
    const first = await stream(`${B}/v1/groups/${group.body.id}/events`, caller);
    const early = await Promise.all([0, 1].map((i) => addFileAndSend(A, group.body.id, caller, `early-${i}.txt`)));
    await first.waitUntil('both early files completed', (e) => e.filter((x) => x.event === 'session.completed').length === 2, 90_000);
    const lastId = first.events[first.events.length - 1].id!;
    first.abort();

    // Reconnect to the other replica, as a load balancer may send it; the snapshot has the counters as they are now.
    const again = await stream(`${A}/v1/groups/${group.body.id}/events`, { ...caller, headers: { 'last-event-id': lastId } });
    expect(again.status).toBe(200);
    await again.waitUntil('the snapshot', (e) => e.length >= 1);
    const now = await api('GET', `/v1/groups/${group.body.id}`, { ...caller, baseUrl: A });
    expect(again.events[0]).toMatchObject({ event: 'snapshot', data: { completedFiles: 2, fileCount: 2, status: 'IN_PROGRESS' } });
    expect(again.events[0].data).toMatchObject({ completedFiles: now.body.completedFiles, failedFiles: now.body.failedFiles, status: now.body.status });
    expect(early).toHaveLength(2);

    const late = await Promise.all([0, 1].map((i) => addFileAndSend(A, group.body.id, caller, `late-${i}.txt`)));
    await again.waitForEnd(90_000);
    const completed = again.events.filter((e) => e.event === 'session.completed').map((e) => e.data.data.sessionId);
    expect(completed).toEqual(expect.arrayContaining(late));
    expect(again.events[again.events.length - 1]).toMatchObject({ event: 'group.completed', data: { data: { completedFiles: 4 } } });
  });

  it('a session stream: snapshot with its jobs, then its events in order, closed after session.completed; a final session closes after the snapshot', async () => {
    const bytes = textBytes();
    const created = await createUpload(anUpload(bytes).named('one.txt'), {});
    const live = await stream(`${B}/v1/uploads/${created.id}/events`, created.caller);
    await live.waitUntil('the snapshot', (e) => e.length >= 1);
    expect(live.events[0]).toMatchObject({ event: 'snapshot', data: { id: created.id, status: 'PENDING_UPLOAD', jobs: [], parts: expect.any(Object) } });
    expect(await sendBytes(created, bytes)).toBe(200);
    await live.waitForEnd(60_000);
    const names = live.events.map((e) => e.event);
    expect(names[names.length - 1]).toBe('session.completed');
    expect(names.indexOf('session.uploaded')).toBeGreaterThan(0);
    expect(names.indexOf('session.uploaded')).toBeLessThan(names.indexOf('session.completed'));
    expect(names).toContain('job.completed');
    expect(names.filter((n) => FINAL_SESSION_EVENTS.includes(n))).toEqual(['session.completed']);

    const replay = await stream(`${B}/v1/uploads/${created.id}/events`, created.caller);
    await replay.waitForEnd();
    expect(replay.events.map((e) => [e.event, e.data.status])).toEqual([['snapshot', 'COMPLETED']]);
  });

  it('sends a heartbeat comment on a quiet stream (every SSE_HEARTBEAT_SECONDS)', async () => {
    const created = await createUpload(anUpload(textBytes()).named('quiet.txt'), {});
    const controller = new AbortController();
    const res = await fetch(`${B}/v1/uploads/${created.id}/events`, { headers: { 'x-upload-token': created.caller.uploadToken! }, signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    const started = Date.now();
    try {
      while (!text.includes('\n: heartbeat\n\n') && Date.now() - started < 20_000) text += new TextDecoder().decode((await reader.read()).value);
    } finally {
      controller.abort();
    }
    expect(text).toMatch(/^retry: \d+\nevent: snapshot\ndata: \{.*\}\n\n/);
    expect(text).toContain('\n: heartbeat\n\n');
  });

  describe('identity and ownership', () => {
    let mine: { id: string; caller: Caller };
    let other: { id: string; caller: Caller };
    let group: ApiResponse;

    beforeAll(async () => {
      mine = await createUpload(anUpload(textBytes()).named('mine.txt'), { token: alice });
      other = await createUpload(anUpload(textBytes()).named('other.txt'), { token: alice });
      group = await createGroup(A, { name: 'owned', totalFiles: 1 }, { token: alice });
    });

    it("another user's stream is a 404 (JSON, before any stream starts), as is a caller with no identity", async () => {
      for (const path of [`/v1/uploads/${mine.id}/events`, `/v1/groups/${group.body.id}/events`]) {
        const theirs = await stream(`${B}${path}`, { token: bob });
        expect(theirs.status).toBe(404);
        expect(theirs.headers.get('content-type')).toMatch(/^application\/json/);
        expect(theirs.errorBody).toMatchObject({ statusCode: 404, error: 'Not Found' });
        expect((await stream(`${B}${path}`)).status).toBe(404);
        expect((await stream(`${B}${path}`, { uploadToken: 'x'.repeat(43) })).status).toBe(404);
        expect((await stream(`${B}${path}`, { token: alice })).status).toBe(200);
      }
      expect((await stream(`${B}/v1/uploads/not-a-uuid/events`, { token: alice })).status).toBe(404);
      expect((await api('POST', `/v1/uploads/${mine.id}/events/tickets`, { token: bob, baseUrl: A })).status).toBe(404);
    });

    it('a ticket minted on A opens that stream on B with no other identity; it opens nothing else; a forged one is a 401', async () => {
      const minted = await api('POST', `/v1/uploads/${mine.id}/events/tickets`, { token: alice, baseUrl: A });
      expect(minted.status).toBe(201);
      expect(minted.body).toEqual({
        ticket: expect.stringMatching(/^v1\./),
        url: `/v1/uploads/${mine.id}/events?ticket=${encodeURIComponent(minted.body.ticket)}`,
        expiresAt: expect.any(String),
      });
      // Neither the bearer token nor an upload token is in it.
      expect(minted.body.url).not.toContain(alice);

      const opened = await stream(`${A}${minted.body.url}`);
      expect(opened.status).toBe(200);
      await opened.waitUntil('the snapshot', (e) => e.length >= 1);
      expect(opened.events[0].data).toMatchObject({ id: mine.id, filename: 'mine.txt' });

      const t = encodeURIComponent(minted.body.ticket);
      for (const path of [
        `/v1/uploads/${other.id}/events?ticket=${t}`,
        `/v1/groups/${mine.id}/events?ticket=${t}`,
        `/v1/groups/${group.body.id}/events?ticket=${t}`,
      ]) {
        const refused = await stream(`${A}${path}`);
        expect({ path, status: refused.status }).toEqual({ path, status: 404 });
      }
      // A ticket never stands in for a bearer token on the API.
      expect((await api('GET', `/v1/uploads/${mine.id}?ticket=${t}`, { baseUrl: A })).status).toBe(404);

      const [v, payload, signature] = minted.body.ticket.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${v}.${Buffer.from(JSON.stringify({ ...claims, i: other.id })).toString('base64url')}.${signature}`;
      const refused = await stream(`${A}/v1/uploads/${other.id}/events?ticket=${encodeURIComponent(forged)}`);
      expect(refused.status).toBe(401);
      expect(refused.errorBody.message).toMatch(/not a valid stream ticket/);
    });

    it('a group ticket opens the group stream; an expired ticket is refused with a 401 saying so', async () => {
      const minted = await api('POST', `/v1/groups/${group.body.id}/events/tickets`, { token: alice, baseUrl: B });
      expect(minted.status).toBe(201);
      // B mints 1-second tickets.
      expect(Date.parse(minted.body.expiresAt) - Date.now()).toBeLessThanOrEqual(1_000);
      const refused = await waitFor(
        async () => {
          const s = await SseConnection.open(`${B}${minted.body.url}`);
          s.abort();
          return s;
        },
        (s) => s.status !== 200,
        { timeoutMs: 10_000, intervalMs: 200, what: 'the ticket to expire' },
      );
      expect(refused.status).toBe(401);
      expect(refused.errorBody.message).toMatch(/expired/);

      const fresh = await api('POST', `/v1/groups/${group.body.id}/events/tickets`, { token: alice, baseUrl: A });
      const opened = await stream(`${B}${fresh.body.url}`);
      expect(opened.status).toBe(200);
      await opened.waitUntil('the snapshot', (e) => e.length >= 1);
      expect(opened.events[0].data).toMatchObject({ id: group.body.id, name: 'owned' });
    });
  });

  describe('limits', () => {
    it('beyond SSE_MAX_STREAMS_PER_CALLER a caller gets a 429 with Retry-After; closing one frees a slot', async () => {
      const carol = jwtFor(`carol-${randomUUID()}`);
      const sessions = await Promise.all([0, 1, 2, 3].map((i) => createUpload(anUpload(textBytes()).named(`c${i}.txt`), { token: carol })));
      const streams = [];
      for (const s of sessions.slice(0, 3)) {
        const opened = await stream(`${B}/v1/uploads/${s.id}/events`, { token: carol });
        expect(opened.status).toBe(200);
        streams.push(opened);
      }
      const refused = await stream(`${B}/v1/uploads/${sessions[3].id}/events`, { token: carol });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.errorBody).toMatchObject({ statusCode: 429, message: expect.stringMatching(/at most 3 live streams per caller/) });
      // Another caller is not affected.
      const ticket = await api('POST', `/v1/uploads/${sessions[3].id}/events/tickets`, { token: carol, baseUrl: A });
      expect((await stream(`${B}/v1/uploads/${sessions[3].id}/events`, { token: bob })).status).toBe(404);
      // A ticket counts against the caller who minted it.
      expect((await stream(`${B}${ticket.body.url}`)).status).toBe(429);

      streams[0].abort();
      const reopened = await waitFor(
        () => stream(`${B}/v1/uploads/${sessions[3].id}/events`, { token: carol }),
        (s) => s.status === 200,
        { timeoutMs: 10_000, intervalMs: 100, what: 'a freed slot' },
      );
      expect(reopened.status).toBe(200);
    });

    it('beyond SSE_MAX_STREAMS a replica refuses anyone with a 429', async () => {
      const users = [0, 1, 2].map((i) => jwtFor(`limit-${i}-${randomUUID()}`));
      const sessions = await Promise.all(users.map((token, i) => createUpload(anUpload(textBytes()).named(`r${i}.txt`), { token })));
      expect((await stream(`${A}/v1/uploads/${sessions[0].id}/events`, { token: users[0] })).status).toBe(200);
      expect((await stream(`${A}/v1/uploads/${sessions[1].id}/events`, { token: users[1] })).status).toBe(200);
      const refused = await stream(`${A}/v1/uploads/${sessions[2].id}/events`, { token: users[2] });
      expect(refused.status).toBe(429);
      expect(refused.errorBody.message).toMatch(/has its 2 live streams open/);
      const metrics = await scrape(a.port);
      expect(sample(metrics, 'sse_streams_refused_total', { reason: 'replica_limit' })).toBeGreaterThanOrEqual(1);
    });
  });

  it('a reader that stops reading is dropped once 256 KiB wait for it (SSE_MAX_BUFFERED_BYTES), while another reader of the same group gets every event', async () => {
    const caller = { token: alice };
    const group = await createGroup(A, { name: 'slow', totalFiles: 1 }, caller);
    const userId = JSON.parse(Buffer.from(alice.split('.')[1], 'base64url').toString()).sub;
    const fast = await stream(`${B}/v1/groups/${group.body.id}/events`, caller);
    await fast.waitUntil('the snapshot', (e) => e.length >= 1);

    // The slow reader: sends its request, reads the head and the snapshot, then never reads again.
    const slow: Socket = connect(PORT_BASE + 20, '127.0.0.1');
    const head = await new Promise<string>((resolve, reject) => {
      slow.once('error', reject);
      slow.write(`GET /v1/groups/${group.body.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${alice}\r\nAccept: text/event-stream\r\n\r\n`);
      slow.once('data', (chunk) => {
        slow.pause();
        resolve(chunk.toString('utf8'));
      });
    });
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    const before = await scrape(b.port);

    // 1,200 events of 8 KiB about the group (about 10 MB: more than the kernel's socket buffers hold), 20 at a time
    // (160 KiB: a reader that keeps reading never has more waiting than that), each batch once the other reader has
    // the previous one.
    const pad = 'x'.repeat(8 * 1024);
    const N = 1200;
    const BATCH = 20;
    const bodies = Array.from({ length: N }, (_, i) =>
      JSON.stringify({
        id: randomUUID(),
        type: DomainEventType.JobCompleted,
        occurredAt: new Date().toISOString(),
        version: 1,
        data: {
          jobId: randomUUID(),
          sessionId: randomUUID(),
          groupId: group.body.id,
          userId,
          objectKey: `uploads/x/${i}`,
          type: 'VALIDATION',
          status: 'COMPLETED',
          attempts: 1,
          result: { pad },
        },
      }),
    );
    const conn = await amqp.connect(env.AMQP_URL);
    try {
      const ch = await conn.createConfirmChannel();
      for (let sent = 0; sent < N; sent += BATCH) {
        for (const body of bodies.slice(sent, sent + BATCH))
          ch.publish(env.DOMAIN_EVENTS_EXCHANGE, DomainEventType.JobCompleted, Buffer.from(body), { persistent: true });
        await ch.waitForConfirms();
        await fast.waitUntil(`${sent + BATCH} events`, (e) => e.length - 1 >= sent + BATCH, 30_000);
      }
    } finally {
      await conn.close();
    }

    await waitFor(
      () => scrape(b.port),
      (m) => sample(m, 'sse_streams_closed_total', { reason: 'slow' }) > sample(before, 'sse_streams_closed_total', { reason: 'slow' }),
      {
        timeoutMs: 30_000,
        what: 'the slow reader to be dropped',
      },
    );
    // The fast reader is still open and in order.
    expect(fast.endedByServer).toBe(false);
    expect(fast.events.slice(1).map((e) => e.data.data.objectKey)).toEqual(bodies.map((_, i) => `uploads/x/${i}`));
    slow.destroy();
  });
});
