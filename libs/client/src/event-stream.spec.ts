import { parseEventStream, ServerSentEvent } from './event-stream';

/** A body that arrives in these chunks. */
function body(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function all(stream: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const out: ServerSentEvent[] = [];
  for await (const e of parseEventStream(stream)) out.push(e);
  return out;
}

describe('parseEventStream', () => {
  it('reads the gateway stream: retry, snapshot, events with ids, heartbeat comments skipped', async () => {
    const events = await all(
      body(
        'retry: 2000\nevent: snapshot\ndata: {"status":"UPLOADED"}\n\n: heartbeat\n\nevent: session.completed\nid: e-1\ndata: {"type":"session.completed"}\n\n',
      ),
    );
    expect(events).toEqual([
      { event: 'snapshot', data: '{"status":"UPLOADED"}', retry: 2000 },
      { event: 'session.completed', id: 'e-1', data: '{"type":"session.completed"}' },
    ]);
  });

  it('joins events cut anywhere, even inside a multi-byte character or between \\r and \\n', async () => {
    const text = 'event: a\r\ndata: héllo\r\n\r\nevent: b\rdata: x\r\rdata: ok\n\n';
    const bytes = new TextEncoder().encode(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, cut));
          c.enqueue(bytes.slice(cut));
          c.close();
        },
      });
      expect(await all(stream)).toEqual([
        { event: 'a', data: 'héllo' },
        { event: 'b', data: 'x' },
        { event: 'message', data: 'ok' },
      ]);
    }
  });

  it('joins several data lines with newlines; a field without a colon or space is still read; unknown fields are ignored', async () => {
    expect(await all(body('data:one\ndata: two\ndata\nfoo: bar\n\n'))).toEqual([{ event: 'message', data: 'one\ntwo\n' }]);
  });

  it('drops an event cut off by the end of the body, and events without data', async () => {
    expect(await all(body('event: lonely\n\nevent: cut\ndata: {"half'))).toEqual([]);
  });
});
