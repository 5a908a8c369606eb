import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { parseEventStream } from '../../../../libs/client/src/event-stream';
import type { SinkCloseReason, SseSink } from './sse-response';
import { LiveFeed, StreamHub, StreamLimits, TooManyStreams } from './stream-hub';

/** The broker subscription, in memory: counts its users, publishes what a test says. */
class MemoryFeed implements LiveFeed {
  users = 0;
  unavailable = false;
  private listener!: { onEvent(routingKey: string, body: Buffer): void; onGap(): void };

  listen(listener: { onEvent(routingKey: string, body: Buffer): void; onGap(): void }): void {
    this.listener = listener;
  }
  async acquire(): Promise<void> {
    if (this.unavailable) throw new Error('live events are unavailable');
    this.users++;
  }
  release(): void {
    this.users--;
  }
  publish(type: string, data: Record<string, unknown>): string {
    const id = randomUUID();
    this.listener.onEvent(type, Buffer.from(JSON.stringify({ id, type, occurredAt: new Date().toISOString(), version: 1, data })));
    return id;
  }
  raw(type: string, body: string): void {
    this.listener.onEvent(type, Buffer.from(body));
  }
  gap(): void {
    this.listener.onGap();
  }
}

/** A response held in memory; `stalled` makes it behave as SseResponse does with a reader too far behind. */
class MemorySink implements SseSink {
  text = '';
  ended = false;
  closed: SinkCloseReason | null = null;
  stalled = false;
  private readonly listeners: ((reason: SinkCloseReason) => void)[] = [];

  write(chunk: string): boolean {
    if (this.closed) return false;
    if (this.stalled) {
      this.close('slow');
      return false;
    }
    this.text += chunk;
    return true;
  }
  end(): void {
    this.ended = true;
    this.close('closed');
  }
  onClose(listener: (reason: SinkCloseReason) => void): void {
    this.listeners.push(listener);
  }
  /** The reader went away. */
  close(reason: SinkCloseReason = 'closed'): void {
    if (this.closed) return;
    this.closed = reason;
    for (const l of this.listeners.splice(0)) l(reason);
  }
  async events(): Promise<{ event: string; id?: string; data: any }[]> {
    const out = [];
    const bytes = new TextEncoder().encode(this.text);
    const body = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(bytes), c.close()) });
    for await (const e of parseEventStream(body)) out.push({ event: e.event, id: e.id, data: JSON.parse(e.data) });
    return out;
  }
}

const limits: StreamLimits = { maxStreams: 10, maxStreamsPerCaller: 3, heartbeatMs: 60_000, feedTimeoutMs: 1_000 };

describe('StreamHub', () => {
  let feed: MemoryFeed;
  let hub: StreamHub;
  const session = randomUUID();
  const group = randomUUID();

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    feed = new MemoryFeed();
    hub = new StreamHub(feed, limits);
  });
  afterEach(() => hub.shutdown());

  async function started(
    kind: 'session' | 'group',
    id: string,
    caller = 'c1',
    snapshot: unknown = { id, status: 'PENDING' },
    final = false,
  ): Promise<MemorySink> {
    const sink = new MemorySink();
    hub.start(await hub.open(kind, id, caller), sink, snapshot, final);
    return sink;
  }

  it('routes a session event to the streams of its session and of its group, and to no other', async () => {
    const mine = await started('session', session);
    const ofGroup = await started('group', group);
    const other = await started('session', randomUUID());
    const id = feed.publish('session.uploaded', { sessionId: session, groupId: group, status: 'UPLOADED' });
    feed.publish('group.cancelled', { groupId: randomUUID(), status: 'CANCELLED' });

    for (const sink of [mine, ofGroup]) {
      expect(await sink.events()).toEqual([
        { event: 'snapshot', data: expect.objectContaining({ status: 'PENDING' }) },
        {
          event: 'session.uploaded',
          id,
          data: expect.objectContaining({ id, type: 'session.uploaded', data: expect.objectContaining({ sessionId: session }) }),
        },
      ]);
    }
    expect((await other.events()).map((e) => e.event)).toEqual(['snapshot']);
    expect(mine.text.startsWith('retry: 2000\nevent: snapshot\n')).toBe(true);
  });

  it('an event published between open and start (while the snapshot is read) comes right after the snapshot, in order', async () => {
    const stream = await hub.open('session', session, 'c1');
    const first = feed.publish('session.uploaded', { sessionId: session, status: 'UPLOADED' });
    const second = feed.publish('session.processing', { sessionId: session, status: 'PROCESSING' });
    const sink = new MemorySink();
    hub.start(stream, sink, { status: 'UPLOADED' }, false);
    const third = feed.publish('job.completed', { sessionId: session, jobId: randomUUID(), status: 'COMPLETED' });
    expect((await sink.events()).map((e) => e.id ?? e.event)).toEqual(['snapshot', first, second, third]);
    expect(sink.ended).toBe(false);
  });

  it("ends a session stream after its final event, a group stream only after the group's", async () => {
    const ofSession = await started('session', session);
    const ofGroup = await started('group', group);
    feed.publish('session.completed', { sessionId: session, groupId: group, status: 'COMPLETED' });
    expect(ofSession.ended).toBe(true);
    expect(ofGroup.ended).toBe(false);
    feed.publish('group.completed', { groupId: group, status: 'COMPLETED' });
    expect(ofGroup.ended).toBe(true);
    expect((await ofGroup.events()).map((e) => e.event)).toEqual(['snapshot', 'session.completed', 'group.completed']);
    expect(hub.counts()).toEqual({ session: 0, group: 0 });
    expect(feed.users).toBe(0);
  });

  it('a final snapshot ends the stream at once; a final event held during the snapshot read ends it after that event', async () => {
    const done = await started('session', session, 'c1', { status: 'COMPLETED' }, true);
    expect(done.ended).toBe(true);
    expect((await done.events()).map((e) => e.event)).toEqual(['snapshot']);

    const stream = await hub.open('group', group, 'c1');
    feed.publish('group.failed', { groupId: group, status: 'FAILED' });
    feed.publish('session.deleted', { sessionId: session, groupId: group, status: 'DELETED' });
    const sink = new MemorySink();
    hub.start(stream, sink, { status: 'IN_PROGRESS' }, false);
    expect(sink.ended).toBe(true);
    expect((await sink.events()).map((e) => e.event)).toEqual(['snapshot', 'group.failed']);
  });

  it('holds the broker subscription while a stream is open (opening or started), and gives it back', async () => {
    const a = await hub.open('session', session, 'c1');
    expect(feed.users).toBe(1);
    const b = await started('group', group, 'c2');
    expect(feed.users).toBe(2);
    hub.abandon(a);
    expect(feed.users).toBe(1);
    b.close();
    expect(feed.users).toBe(0);
    expect(hub.counts()).toEqual({ session: 0, group: 0 });
  });

  it('refuses beyond the per-caller and per-replica limits, and frees the slot when a stream closes', async () => {
    const sinks = [await started('session', session, 'c1'), await started('session', session, 'c1'), await started('group', group, 'c1')];
    await expect(hub.open('session', session, 'c1')).rejects.toThrow(new TooManyStreams('caller', 3));
    sinks[0].close();
    await expect(hub.open('session', session, 'c1')).resolves.toBeDefined();

    for (let i = 0; hub.counts().session + hub.counts().group < limits.maxStreams; i++) await hub.open('session', session, `other-${i}`);
    await expect(hub.open('session', session, 'newcomer')).rejects.toThrow(new TooManyStreams('replica', 10));
  });

  it('gives the slot back when the broker subscription cannot be had', async () => {
    feed.unavailable = true;
    for (let i = 0; i < 5; i++) await expect(hub.open('session', session, 'c1')).rejects.toThrow('unavailable');
    feed.unavailable = false;
    await expect(hub.open('session', session, 'c1')).resolves.toBeDefined();
  });

  it('a reader too slow to keep up is dropped and its slot freed, while the other streams get every event', async () => {
    const slow = await started('group', group, 'c1');
    const fast = await started('group', group, 'c2');
    slow.stalled = true;
    const ids = Array.from({ length: 50 }, (_, i) =>
      feed.publish('job.completed', { sessionId: randomUUID(), groupId: group, jobId: `${i}`, status: 'COMPLETED' }),
    );
    expect(slow.closed).toBe('slow');
    expect(hub.counts().group).toBe(1);
    expect((await fast.events()).slice(1).map((e) => e.id)).toEqual(ids);
  });

  it('ends every stream when the subscription is lost (their clients reconnect for a fresh snapshot), and on shutdown', async () => {
    const a = await started('session', session, 'c1');
    const b = await started('group', group, 'c2');
    const opening = await hub.open('session', session, 'c3');
    feed.gap();
    expect([a.ended, b.ended]).toEqual([true, true]);
    const late = new MemorySink();
    hub.start(opening, late, {}, false);
    expect(late.ended).toBe(true);
    expect(late.text).toBe('');
    expect(feed.users).toBe(0);

    const c = await started('session', session, 'c1');
    hub.shutdown();
    expect(c.ended).toBe(true);
  });

  it('ignores messages that are not domain events, and never lets a newline end a data field', async () => {
    const sink = await started('session', session);
    feed.raw('session.uploaded', 'not json');
    feed.raw('session.uploaded', '{"id":"x"}');
    feed.raw('session.uploaded', JSON.stringify({ id: 'bad\nid', data: { sessionId: session, note: 'a' } }, null, 2));
    const events = await sink.events();
    expect(events).toEqual([
      { event: 'snapshot', data: expect.anything() },
      { event: 'session.uploaded', data: { id: 'bad\nid', data: { sessionId: session, note: 'a' } } },
    ]);
  });

  it('writes a heartbeat comment to every started stream', async () => {
    jest.useFakeTimers();
    try {
      const quick = new StreamHub(feed, { ...limits, heartbeatMs: 15_000 });
      const sink = new MemorySink();
      quick.start(await quick.open('session', session, 'c1'), sink, {}, false);
      jest.advanceTimersByTime(15_000);
      expect(sink.text.endsWith('\n\n: heartbeat\n\n')).toBe(true);
      quick.shutdown();
    } finally {
      jest.useRealTimers();
    }
  });
});
