import { parseEventStream } from '../../libs/client/src/event-stream';
import { waitFor } from './poll';

export interface ReceivedEvent {
  event: string;
  id?: string;
  /** `data:` parsed as JSON. */
  data: any;
  at: number;
}

/**
 * A client of one live stream (GET …/events), as a program would hold it: the response status and headers,
 * every event received (in order), and whether the server ended the stream.
 */
export class SseConnection {
  readonly events: ReceivedEvent[] = [];
  /** Set once the server ended the stream (not set when we aborted it). */
  endedByServer = false;
  /** What went wrong reading the stream (a body that was not JSON), if anything. */
  failure: unknown = null;
  readonly done: Promise<void>;

  private constructor(
    readonly status: number,
    readonly headers: Headers,
    /** The JSON error body of a refused stream. */
    readonly errorBody: any,
    private readonly controller: AbortController,
    body: ReadableStream<Uint8Array> | null,
  ) {
    this.done = body ? this.read(body).catch((e) => void (this.failure = e)) : Promise.resolve();
  }

  static async open(url: string, opts: { token?: string; uploadToken?: string; headers?: Record<string, string> } = {}): Promise<SseConnection> {
    const controller = new AbortController();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.uploadToken) headers['x-upload-token'] = opts.uploadToken;
    const res = await fetch(url, { headers, signal: controller.signal });
    if (res.status !== 200) {
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return new SseConnection(res.status, res.headers, body, controller, null);
    }
    return new SseConnection(res.status, res.headers, null, controller, res.body);
  }

  /** Drops the connection from our side, as a network failure would. */
  abort(): void {
    this.controller.abort();
  }

  of(type: string): ReceivedEvent[] {
    return this.events.filter((e) => e.event === type);
  }

  async waitUntil(what: string, until: (events: ReceivedEvent[]) => boolean, timeoutMs = 60_000): Promise<void> {
    if (this.status !== 200) throw new Error(`waiting for ${what}: the stream was refused with ${this.status} ${JSON.stringify(this.errorBody)}`);
    await waitFor(
      async () => this.events.map((e) => e.event),
      () => until(this.events),
      { timeoutMs, intervalMs: 50, what },
    );
  }

  async waitForEnd(timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => this.endedByServer, Boolean, {
      timeoutMs,
      intervalMs: 50,
      what: `the server to end the stream; events: ${this.events.map((e) => e.event).join(', ')}`,
    });
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const e of parseEventStream(body)) this.events.push({ event: e.event, id: e.id, data: JSON.parse(e.data), at: Date.now() });
      this.endedByServer = true;
    } catch (e) {
      if (!this.controller.signal.aborted) throw e;
    }
  }
}
