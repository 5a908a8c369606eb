/** One server-sent event as the text/event-stream format defines it. */
export interface ServerSentEvent {
  /** `event:` field; `message` when absent. */
  event: string;
  /** `data:` lines joined with newlines. */
  data: string;
  /** `id:` field, when the event had one. */
  id?: string;
  /** `retry:` field (milliseconds), when the event had one. */
  retry?: number;
}

/**
 * Parses a text/event-stream body (WHATWG HTML, "server-sent events"): fields per line, events separated by a
 * blank line, comments (`:` lines, the gateway's heartbeats) skipped, any line ending. Works on the body of a
 * `fetch` Response in Node (18+) and in browsers. Ends when the body ends; an event cut off by the end is dropped.
 */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let retry: number | undefined;
  let afterCR = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < buffer.length; i++) {
        const c = buffer[i];
        if (c !== '\n' && c !== '\r') continue;
        // "\r\n" is one line ending, even when a chunk ends between the two.
        if (c === '\n' && afterCR && i === start) {
          afterCR = false;
          start = i + 1;
          continue;
        }
        afterCR = c === '\r';
        const line = buffer.slice(start, i);
        start = i + 1;
        if (line === '') {
          if (data.length > 0)
            yield { event: event || 'message', data: data.join('\n'), ...(id !== undefined ? { id } : {}), ...(retry !== undefined ? { retry } : {}) };
          event = '';
          data = [];
          id = undefined;
          retry = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
      }
      buffer = buffer.slice(start);
      if (afterCR && buffer.length > 0) afterCR = false;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
