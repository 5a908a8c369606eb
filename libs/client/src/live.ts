import { GatewayError } from './errors';
import { parseEventStream } from './event-stream';
import { Gateway } from './gateway';
import { backoffDelay, sleep } from './retry';
import { DomainEvent, LiveEvent, LiveKind } from './types';

/**
 * Reads one live stream of the gateway (GET /v1/uploads/:id/events or /v1/groups/:id/events): yields the
 * `snapshot` (the GET's JSON), then each domain event, and ends when the server ends the stream (after the
 * final event; or early, when a gateway stops: open it again for a fresh snapshot). Throws GatewayError when
 * the gateway refuses the stream. Works in Node and in browsers (fetch, so it sends the caller's headers).
 */
export async function* followEvents<S>(
  gateway: Gateway,
  kind: LiveKind,
  id: string,
  opts: { signal?: AbortSignal; lastEventId?: string } = {},
): AsyncGenerator<LiveEvent<S>> {
  const res = await gateway.openEvents(kind, id, opts);
  for await (const e of parseEventStream(res.body!)) {
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch {
      continue;
    }
    if (e.event === 'snapshot') yield { kind: 'snapshot', snapshot: data as S };
    else yield { kind: 'event', event: data as DomainEvent };
  }
}

/** What following one kind of resource needs: how to read it, fold an event into it, and when to stop. */
export interface Follower<S> {
  kind: LiveKind;
  get(signal: AbortSignal): Promise<S>;
  /** The state after a domain event (the snapshot plus the events so far). */
  apply(state: S, event: DomainEvent): S;
  /** A state the caller waits for, or a final one: following stops there. */
  done(state: S): boolean;
  /** Changes of this string are what `onChange` reports. */
  fingerprint(state: S): string;
  /** The error when the deadline passes (last: the last state seen, if any). */
  timeout(last: S | null, timeoutMs: number): Error;
}

/** What `waitForSession` and `waitForGroup` take. */
export interface LiveWaitOptions<S, Status extends string> {
  /** Stop at one of these statuses (default: a final one). Reaching another final status throws. */
  until?: Status | readonly Status[];
  /** Give up after this long (default 5 minutes for a session, 10 for a group). */
  timeoutMs?: number;
  /** Between polls, when polling (default 500 ms for a session, 1 s for a group; growing to 5 s while nothing changes). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called whenever the status changes (a session's: or a job's status; a group's: or its counters). */
  onChange?: (state: S) => void;
  /**
   * Each event of the live stream as it arrives: the snapshot, then the domain events (a session's session.* and
   * job.*; a group's own group.* and those of every session in it).
   */
  onEvent?: (event: LiveEvent<S>) => void;
  /**
   * Follow the live event stream (default true): changes arrive as they happen, with no polling. Where the gateway
   * offers no stream (or refuses one: stream limits), it polls instead.
   */
  live?: boolean;
}

/** `until` as a list; a final status by default. */
export function untilList<Status extends string>(until: Status | readonly Status[] | undefined, finals: readonly Status[]): readonly Status[] {
  return until === undefined ? finals : typeof until === 'string' ? [until] : until;
}

type FollowOptions<S> = Required<Pick<LiveWaitOptions<S, string>, 'timeoutMs' | 'intervalMs' | 'live'>> &
  Pick<LiveWaitOptions<S, string>, 'signal' | 'onChange' | 'onEvent'>;

/**
 * Follows a resource until `done`: over its live stream while the gateway offers it (reconnecting for a fresh
 * snapshot when a stream ends early), polling the GET from `intervalMs` up to 5 s otherwise (a gateway without
 * streams, a refused stream, a broken one). A state reached through an event is read once more with the GET,
 * so what is returned is complete (job results, counters).
 */
export async function follow<S>(
  gateway: Gateway,
  id: string,
  f: Follower<S>,
  options: LiveWaitOptions<S, string>,
  defaults: { timeoutMs: number; intervalMs: number },
): Promise<S> {
  const o: FollowOptions<S> = {
    ...options,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    intervalMs: options.intervalMs ?? defaults.intervalMs,
    live: options.live ?? true,
  };
  const deadline = Date.now() + o.timeoutMs;
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(new Error('deadline')), o.timeoutMs);
  const signal = o.signal ? anySignal([o.signal, timer.signal]) : timer.signal;
  let last: S | null = null;
  let seen = '';
  const changed = (s: S) => {
    last = s;
    const fp = f.fingerprint(s);
    if (fp !== seen) {
      seen = fp;
      o.onChange?.(s);
    }
  };
  try {
    if (o.live) {
      const streamed = await viaStream(gateway, id, f, o, signal, changed);
      if (streamed !== null) return streamed;
    }
    let interval = o.intervalMs;
    for (;;) {
      const s = await f.get(signal);
      const before = seen;
      changed(s);
      interval = seen !== before ? o.intervalMs : Math.min(5_000, Math.round(interval * 1.5));
      if (f.done(s)) return s;
      if (Date.now() + interval > deadline) throw f.timeout(s, o.timeoutMs);
      await sleep(interval, signal);
    }
  } catch (e) {
    if (timer.signal.aborted && !o.signal?.aborted) throw f.timeout(last, o.timeoutMs);
    throw e;
  } finally {
    clearTimeout(timeout);
  }
}

/** The final (or awaited) state from the live stream, or null when streaming is not possible here: poll instead. */
async function viaStream<S>(
  gateway: Gateway,
  id: string,
  f: Follower<S>,
  o: FollowOptions<S>,
  signal: AbortSignal,
  changed: (s: S) => void,
): Promise<S | null> {
  let emptyEnds = 0;
  let lastEventId: string | undefined;
  for (;;) {
    let state: S | null = null;
    let received = false;
    try {
      for await (const e of followEvents<S>(gateway, f.kind, id, { signal, lastEventId })) {
        received = true;
        o.onEvent?.(e);
        if (e.kind === 'snapshot') state = e.snapshot;
        else if (state !== null) {
          state = f.apply(state, e.event);
          lastEventId = e.event.id;
        } else continue;
        changed(state);
        if (!f.done(state)) continue;
        if (e.kind === 'snapshot') return state;
        const full = await f.get(signal);
        if (!f.done(full)) return state;
        changed(full);
        return full;
      }
    } catch (e) {
      if (signal.aborted) throw e;
      // Refused (a gateway without streams answers 404, a full one 429) or unreachable: polling says what is true.
      if (!received || (e instanceof GatewayError && !e.retryable)) return null;
    }
    // The stream ended before a final state (a gateway stopping, a lost subscription): a fresh snapshot elsewhere.
    emptyEnds = received ? 0 : emptyEnds + 1;
    if (emptyEnds >= 3) return null;
    await sleep(backoffDelay(Math.max(1, emptyEnds)), signal);
  }
}

/** AbortSignal.any where the runtime has it (Node 20.3+, current browsers), by hand otherwise. */
function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as unknown as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(signals);
  const c = new AbortController();
  for (const s of signals) {
    if (s.aborted) c.abort(s.reason);
    else s.addEventListener('abort', () => c.abort(s.reason), { once: true });
  }
  return c.signal;
}
