import type { IncomingMessage, ServerResponse } from 'node:http';

export type SinkCloseReason = 'slow' | 'closed';

/** Where a stream's frames go: the one thing StreamHub needs of an HTTP response. */
export interface SseSink {
  /** Queues a chunk; false once the sink is closed (or was closed now: its reader is too slow). */
  write(chunk: string): boolean;
  /** Ends the response normally (after what is queued). */
  end(): void;
  /** Called once when the response is finished or the connection closed: `slow` when the sink gave up on its reader. */
  onClose(listener: (reason: SinkCloseReason) => void): void;
}

/** Node's response under the adapter's: Express' response is one, Fastify's reply holds it as `raw`. */
function nodeResponseOf(res: unknown): ServerResponse {
  return ((res as { raw?: ServerResponse }).raw ?? res) as ServerResponse;
}

/** Sets a header on a response not yet sent, whatever the HTTP adapter (for a 429's Retry-After). */
export function setResponseHeader(res: unknown, name: string, value: string): void {
  const raw = nodeResponseOf(res);
  if (!raw.headersSent) raw.setHeader(name, value);
}

/**
 * The one class that touches the raw HTTP response of a live stream (adapter-neutral: Express, or Fastify
 * after `hijack()`). Nest's own `@Sse()` waits for each write to drain behind an unbounded queue and cannot
 * send comment lines; here a write never waits: a reader whose unread bytes pass `maxBufferedBytes` is
 * disconnected, freeing the memory, and reconnects for a fresh snapshot.
 */
export class SseResponse implements SseSink {
  private closed = false;
  private readonly listeners: ((reason: SinkCloseReason) => void)[] = [];

  private constructor(
    private readonly raw: ServerResponse,
    private readonly maxBufferedBytes: number,
  ) {
    raw.once('close', () => this.closeOnce('closed'));
  }

  /** Sends the status and headers of an event stream; from here on, errors can no longer be JSON answers. */
  static open(res: unknown, req: unknown, maxBufferedBytes: number): SseResponse {
    (res as { hijack?: () => void }).hijack?.call(res);
    const raw = nodeResponseOf(res);
    const socket = ((req as { raw?: IncomingMessage }).raw ?? (req as IncomingMessage)).socket;
    socket?.setNoDelay(true);
    socket?.setTimeout(0);
    raw.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, no-transform',
      Connection: 'keep-alive',
      // Proxies that buffer responses (nginx) must pass each event on at once.
      'X-Accel-Buffering': 'no',
    });
    raw.flushHeaders();
    return new SseResponse(raw, maxBufferedBytes);
  }

  write(chunk: string): boolean {
    if (this.closed || this.raw.destroyed) return false;
    this.raw.write(chunk);
    if (this.raw.writableLength > this.maxBufferedBytes) {
      this.closeOnce('slow');
      this.raw.destroy();
      return false;
    }
    return true;
  }

  end(): void {
    if (this.closed) return;
    this.raw.end();
  }

  onClose(listener: (reason: SinkCloseReason) => void): void {
    this.listeners.push(listener);
  }

  private closeOnce(reason: SinkCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.listeners.splice(0)) l(reason);
  }
}
