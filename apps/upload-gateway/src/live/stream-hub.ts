import { Logger } from '@nestjs/common';
import { DomainEventType } from '@app/contracts';
import { LiveMetrics } from './live.metrics';
import type { SseSink } from './sse-response';
import type { StreamKind } from './stream-tickets';

/** What the hub needs of the broker subscription (LiveEventsFeed of libs/messaging). */
export interface LiveFeed {
  listen(listener: { onEvent(routingKey: string, body: Buffer): void; onGap(): void }): void;
  acquire(timeoutMs: number): Promise<void>;
  release(): void;
}

export interface StreamLimits {
  maxStreams: number;
  maxStreamsPerCaller: number;
  heartbeatMs: number;
  /** How long an opening stream waits for the broker subscription before a 503. */
  feedTimeoutMs: number;
}

/** Beyond a limit: a 429. */
export class TooManyStreams extends Error {
  constructor(
    readonly scope: 'replica' | 'caller',
    limit: number,
  ) {
    super(
      scope === 'replica'
        ? `this gateway has its ${limit} live streams open; retry shortly`
        : `at most ${limit} live streams per caller are open at once; close one or retry shortly`,
    );
    this.name = 'TooManyStreams';
  }
}

/** The events after which a stream ends: the session's or the group's final state. */
const FINAL_EVENTS: Record<StreamKind, ReadonlySet<string>> = {
  session: new Set([DomainEventType.SessionCompleted, DomainEventType.SessionFailed, DomainEventType.SessionDeleted]),
  group: new Set([DomainEventType.GroupCompleted, DomainEventType.GroupFailed, DomainEventType.GroupCancelled]),
};

/** The reconnection delay EventSource uses after the stream drops. */
export const RETRY_MS = 2_000;
/** Events held for a stream while its snapshot is read; more means something is badly wrong: it is ended. */
const MAX_PENDING = 1_000;
const ROUTING_KEY = /^[a-z]+(\.[a-z]+)+$/;
const EVENT_ID = /^[\w-]{1,128}$/;

type CloseReason = 'final' | 'client' | 'slow' | 'resubscribe' | 'shutdown';

/** An open stream, as the controller holds it between `open` and `start`. */
export interface LiveStream {
  readonly kind: StreamKind;
  readonly id: string;
}

interface Pending {
  frame: string;
  event: string;
  final: boolean;
}

class Stream implements LiveStream {
  sink: SseSink | null = null;
  /** Events that arrived before the snapshot was sent; null once started. */
  pending: Pending[] | null = [];
  acquired = false;
  done = false;
  constructor(
    readonly kind: StreamKind,
    readonly id: string,
    readonly caller: string,
  ) {}
}

/**
 * The gateway's open live streams, in memory: counts them against the per-replica and per-caller limits,
 * holds the broker subscription while there is at least one, routes each domain event to the streams of its
 * session and of its group (one frame built per event, written to each), ends a stream after its final event,
 * and writes a heartbeat comment to every stream every `heartbeatMs`. A write never waits on a reader: the sink
 * drops a reader that falls too far behind, so one slow reader never holds up the others.
 */
export class StreamHub {
  private readonly logger = new Logger('StreamHub');
  private readonly streams = new Set<Stream>();
  private readonly index: Record<StreamKind, Map<string, Set<Stream>>> = { session: new Map(), group: new Map() };
  private readonly perCaller = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly feed: LiveFeed,
    private readonly limits: StreamLimits,
  ) {
    feed.listen({ onEvent: (key, body) => this.onEvent(key, body), onGap: () => this.endAll('resubscribe') });
    this.heartbeat = setInterval(() => this.beat(), limits.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Open streams by kind. */
  counts(): Record<StreamKind, number> {
    const out = { session: 0, group: 0 };
    for (const s of this.streams) out[s.kind]++;
    return out;
  }

  /**
   * Takes a slot for a stream of `caller` and subscribes it to events before its snapshot is read, so nothing
   * published between the read and the first write is lost (it waits for `start`). Throws TooManyStreams, or
   * LiveEventsUnavailable when the broker subscription cannot be had.
   */
  async open(kind: StreamKind, id: string, caller: string): Promise<LiveStream> {
    if (this.streams.size >= this.limits.maxStreams) {
      LiveMetrics.streamsRefused.inc({ reason: 'replica_limit' });
      throw new TooManyStreams('replica', this.limits.maxStreams);
    }
    if ((this.perCaller.get(caller) ?? 0) >= this.limits.maxStreamsPerCaller) {
      LiveMetrics.streamsRefused.inc({ reason: 'caller_limit' });
      throw new TooManyStreams('caller', this.limits.maxStreamsPerCaller);
    }
    const stream = new Stream(kind, id.toLowerCase(), caller);
    this.add(stream);
    try {
      await this.feed.acquire(this.limits.feedTimeoutMs);
    } catch (e) {
      this.remove(stream, null);
      LiveMetrics.streamsRefused.inc({ reason: 'unavailable' });
      throw e;
    }
    stream.acquired = true;
    if (stream.done) this.feed.release(); // ended (shutdown) while waiting for the feed
    return stream;
  }

  /**
   * Writes the snapshot, then the events that arrived since `open`, then goes live. Ends the stream at once when
   * the snapshot is already final, or after a final event.
   */
  start(handle: LiveStream, sink: SseSink, snapshot: unknown, final: boolean): void {
    const stream = handle as Stream;
    if (stream.done) {
      // Ended while its snapshot was read (lost subscription, shutdown): the client reconnects for a fresh one.
      sink.end();
      return;
    }
    stream.sink = sink;
    sink.onClose((reason) => this.remove(stream, reason === 'slow' ? 'slow' : 'client'));
    LiveMetrics.streamsOpened.inc({ kind: stream.kind });
    if (!this.write(stream, `retry: ${RETRY_MS}\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`, 'snapshot')) return;
    if (final) return this.finish(stream, 'final');
    const pending = stream.pending ?? [];
    stream.pending = null;
    for (const p of pending) {
      if (!this.write(stream, p.frame, p.event)) return;
      if (p.final) return this.finish(stream, 'final');
    }
  }

  /** Gives up a stream that never started (its snapshot could not be read). */
  abandon(handle: LiveStream): void {
    this.remove(handle as Stream, null);
  }

  /** Nest calls it before the HTTP server closes: open streams would hold it open. */
  beforeApplicationShutdown(): void {
    this.shutdown();
  }

  /** Ends every stream (the app is stopping): clients reconnect to another replica. */
  shutdown(): void {
    clearInterval(this.heartbeat);
    this.endAll('shutdown');
  }

  private onEvent(routingKey: string, body: Buffer): void {
    LiveMetrics.eventsReceived.inc();
    let envelope: { id?: unknown; data?: { sessionId?: unknown; groupId?: unknown } } | null;
    try {
      envelope = JSON.parse(body.toString('utf8'));
    } catch {
      envelope = null;
    }
    if (!envelope || typeof envelope !== 'object' || !envelope.data || typeof envelope.data !== 'object' || !ROUTING_KEY.test(routingKey)) {
      LiveMetrics.eventsIgnored.inc();
      return;
    }
    const { sessionId, groupId } = envelope.data;
    const bySession = typeof sessionId === 'string' ? this.index.session.get(sessionId.toLowerCase()) : undefined;
    const byGroup = typeof groupId === 'string' ? this.index.group.get(groupId.toLowerCase()) : undefined;
    if (!bySession && !byGroup) return;

    // Published bodies are single-line JSON; anything else is re-serialized so a newline cannot end the field.
    const text = body.toString('utf8');
    const data = /[\r\n]/.test(text) ? JSON.stringify(envelope) : text;
    const id = typeof envelope.id === 'string' && EVENT_ID.test(envelope.id) ? `id: ${envelope.id}\n` : '';
    const frame = `event: ${routingKey}\n${id}data: ${data}\n\n`;
    let sent = 0;
    for (const stream of [...(bySession ?? []), ...(byGroup ?? [])]) {
      const final = FINAL_EVENTS[stream.kind].has(routingKey);
      if (stream.pending) {
        if (stream.pending.length >= MAX_PENDING) this.finish(stream, 'slow');
        else stream.pending.push({ frame, event: routingKey, final });
        continue;
      }
      if (!this.write(stream, frame, null)) continue;
      sent++;
      if (final) this.finish(stream, 'final');
    }
    if (sent > 0) LiveMetrics.eventsSent.inc({ event: routingKey }, sent);
  }

  /** Writes a frame; false when the stream is gone (closed by its reader, or dropped for reading too slowly). */
  private write(stream: Stream, frame: string, event: string | null): boolean {
    if (!stream.sink?.write(frame)) return false;
    if (event) LiveMetrics.eventsSent.inc({ event });
    return true;
  }

  private beat(): void {
    for (const stream of this.streams) if (stream.sink && !stream.pending) stream.sink.write(': heartbeat\n\n');
  }

  private endAll(reason: CloseReason): void {
    if (this.streams.size > 0) this.logger.log(`ending ${this.streams.size} live stream(s): ${reason}`);
    for (const stream of [...this.streams]) this.finish(stream, reason);
  }

  private finish(stream: Stream, reason: CloseReason): void {
    stream.done = true;
    stream.sink?.end();
    this.remove(stream, reason);
  }

  private add(stream: Stream): void {
    this.streams.add(stream);
    const byId = this.index[stream.kind];
    let set = byId.get(stream.id);
    if (!set) byId.set(stream.id, (set = new Set()));
    set.add(stream);
    this.perCaller.set(stream.caller, (this.perCaller.get(stream.caller) ?? 0) + 1);
  }

  private remove(stream: Stream, reason: CloseReason | null): void {
    if (!this.streams.delete(stream)) return;
    stream.done = true;
    const byId = this.index[stream.kind];
    const set = byId.get(stream.id);
    set?.delete(stream);
    if (set?.size === 0) byId.delete(stream.id);
    const n = (this.perCaller.get(stream.caller) ?? 1) - 1;
    if (n > 0) this.perCaller.set(stream.caller, n);
    else this.perCaller.delete(stream.caller);
    if (stream.acquired) this.feed.release();
    if (reason) LiveMetrics.streamsClosed.inc({ reason });
  }
}
