import { Gateway } from './gateway';
import { waitForGroupWith } from './wait-for-group';
import { waitForSessionWith } from './wait-for-session';

const ID = '0b0f6f2e-4a8e-4d1c-9a51-3c7f3b2a9e10';

/** A gateway in memory, reached through the SDK's `fetch` option: scripted streams, GETs from a current state. */
class ScriptedGateway {
  readonly calls: string[] = [];
  /** Last-Event-ID of each stream request. */
  readonly lastEventIds: (string | undefined)[] = [];
  /** Each stream request takes the next script: an event-stream body, or an error status. */
  streams: ({ body: string; hold?: boolean } | { status: number })[] = [];
  state: Record<string, unknown> = {};

  readonly fetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const path = new URL(String(url)).pathname;
    this.calls.push(`${init?.method ?? 'GET'} ${path}`);
    if (path.endsWith('/events')) {
      this.lastEventIds.push((init?.headers as Record<string, string> | undefined)?.['last-event-id']);
      const next = this.streams.shift() ?? { status: 404 };
      if ('status' in next) return json(next.status, { statusCode: next.status, error: 'Error', message: `Cannot GET ${path}` });
      const bytes = new TextEncoder().encode(next.body);
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes);
          if (!next.hold) c.close();
          init?.signal?.addEventListener('abort', () => c.error(init.signal!.reason));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' } });
    }
    return json(200, this.state);
  };

  gateway(): Gateway {
    return new Gateway({ server: 'http://gateway.test', fetch: this.fetch as typeof fetch, retries: 0 });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

const frame = (event: string, data: unknown, id?: string) => `event: ${event}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
const session = (status: string, jobs: unknown[] = []) => ({ id: ID, status, jobs, error: null, errorMessage: null });
const event = (type: string, data: Record<string, unknown>) => ({
  id: `e-${type}`,
  type,
  occurredAt: '2026-01-01T00:00:00Z',
  version: 1,
  data: { sessionId: ID, ...data },
});

describe('waitForSession, live', () => {
  it('follows the stream: changes as they come, no polling, one GET at the end for the complete session', async () => {
    const g = new ScriptedGateway();
    g.streams.push({
      body:
        frame('snapshot', session('UPLOADED', [{ id: 'j1', type: 'VALIDATION', status: 'PENDING', priority: 1, maxAttempts: 3 }])) +
        ': heartbeat\n\n' +
        frame('session.processing', event('session.processing', { status: 'PROCESSING' })) +
        frame('job.completed', event('job.completed', { jobId: 'j1', type: 'VALIDATION', status: 'COMPLETED', attempts: 1, result: { size: 5 } })) +
        frame('session.completed', event('session.completed', { status: 'COMPLETED' })),
    });
    g.state = session('COMPLETED', [{ id: 'j1', type: 'VALIDATION', status: 'COMPLETED', priority: 1, maxAttempts: 3, result: { size: 5, sha256: 'x' } }]);
    const changes: string[] = [];
    const events: string[] = [];
    const done = await waitForSessionWith(g.gateway(), ID, {
      onChange: (s) => changes.push(`${s.status}:${s.jobs.map((j) => j.status).join(',')}`),
      onEvent: (e) => events.push(e.kind === 'snapshot' ? 'snapshot' : e.event.type),
    });
    expect(done).toMatchObject({ status: 'COMPLETED', jobs: [{ status: 'COMPLETED', result: { size: 5, sha256: 'x' } }] });
    expect(changes).toEqual(['UPLOADED:PENDING', 'PROCESSING:PENDING', 'PROCESSING:COMPLETED', 'COMPLETED:COMPLETED']);
    expect(events).toEqual(['snapshot', 'session.processing', 'job.completed', 'session.completed']);
    expect(g.calls).toEqual([`GET /v1/uploads/${ID}/events`, `GET /v1/uploads/${ID}`]);
  });

  it('a final snapshot is the answer: no other request', async () => {
    const g = new ScriptedGateway();
    g.streams.push({ body: frame('snapshot', session('COMPLETED')) });
    expect(await waitForSessionWith(g.gateway(), ID)).toMatchObject({ status: 'COMPLETED' });
    expect(g.calls).toEqual([`GET /v1/uploads/${ID}/events`]);
  });

  it('a stream that ends before the final state is opened again (a fresh snapshot), passing Last-Event-ID', async () => {
    const g = new ScriptedGateway();
    g.streams.push({
      body: frame('snapshot', session('UPLOADED')) + frame('session.processing', event('session.processing', { status: 'PROCESSING' }), 'e-session.processing'),
    });
    g.streams.push({ body: frame('snapshot', session('FAILED')) });
    await expect(waitForSessionWith(g.gateway(), ID, { until: 'COMPLETED' })).rejects.toThrow(`session ${ID} ended FAILED`);
    expect(g.calls).toEqual([`GET /v1/uploads/${ID}/events`, `GET /v1/uploads/${ID}/events`]);
    expect(g.lastEventIds).toEqual([undefined, 'e-session.processing']);
  });

  it('polls where the gateway has no stream (404) or refuses one (429), and when asked not to stream', async () => {
    for (const status of [404, 429]) {
      const g = new ScriptedGateway();
      g.streams.push({ status });
      g.state = session('COMPLETED');
      expect(await waitForSessionWith(g.gateway(), ID, { intervalMs: 1 })).toMatchObject({ status: 'COMPLETED' });
      expect(g.calls).toEqual([`GET /v1/uploads/${ID}/events`, `GET /v1/uploads/${ID}`]);
    }
    const g = new ScriptedGateway();
    g.state = session('COMPLETED');
    await waitForSessionWith(g.gateway(), ID, { live: false });
    expect(g.calls).toEqual([`GET /v1/uploads/${ID}`]);
  });

  it('stops at `until` as soon as an event says so, and gives up at the deadline with the last status seen', async () => {
    const g = new ScriptedGateway();
    g.streams.push({
      body: frame('snapshot', session('PENDING_UPLOAD')) + frame('session.uploaded', event('session.uploaded', { status: 'UPLOADED' })),
      hold: true,
    });
    g.state = session('PROCESSING');
    // The GET already shows PROCESSING: the awaited UPLOADED was seen in the event, and is what is returned.
    expect(await waitForSessionWith(g.gateway(), ID, { until: 'UPLOADED' })).toMatchObject({ status: 'UPLOADED' });

    const slow = new ScriptedGateway();
    slow.streams.push({ body: frame('snapshot', session('UPLOADED')), hold: true });
    await expect(waitForSessionWith(slow.gateway(), ID, { timeoutMs: 200 })).rejects.toThrow(`session ${ID} is still UPLOADED after 200 ms`);
  });
});

describe('waitForGroup, live', () => {
  it("reports the group's counters from its snapshot and its own events, and every session's events as they come", async () => {
    const g = new ScriptedGateway();
    const group = { id: ID, name: 'g', status: 'IN_PROGRESS', totalFiles: 2, completedFiles: 1, failedFiles: 0 };
    g.streams.push({
      body:
        frame('snapshot', group) +
        frame('session.completed', event('session.completed', { groupId: ID, status: 'COMPLETED' })) +
        frame('group.completed', {
          id: 'e-g',
          type: 'group.completed',
          version: 1,
          data: { groupId: ID, status: 'COMPLETED', totalFiles: 2, completedFiles: 2, failedFiles: 0 },
        }),
    });
    g.state = { ...group, status: 'COMPLETED', completedFiles: 2 };
    const seen: string[] = [];
    const events: string[] = [];
    const done = await waitForGroupWith(g.gateway(), ID, {
      onChange: (x) => seen.push(`${x.status} ${x.completedFiles}/${x.totalFiles}`),
      onEvent: (e) => events.push(e.kind === 'snapshot' ? 'snapshot' : e.event.type),
    });
    expect(done).toMatchObject({ status: 'COMPLETED', completedFiles: 2 });
    expect(seen).toEqual(['IN_PROGRESS 1/2', 'COMPLETED 2/2']);
    expect(events).toEqual(['snapshot', 'session.completed', 'group.completed']);
    expect(g.calls).toEqual([`GET /v1/groups/${ID}/events`, `GET /v1/groups/${ID}`]);
  });

  it('a group that ends otherwise than awaited is a GroupStateError', async () => {
    const g = new ScriptedGateway();
    g.streams.push({ body: frame('snapshot', { id: ID, status: 'CANCELLED', totalFiles: 1, completedFiles: 0 }) });
    await expect(waitForGroupWith(g.gateway(), ID, { until: 'COMPLETED' })).rejects.toMatchObject({ name: 'GroupStateError', status: 'CANCELLED' });
  });
});
