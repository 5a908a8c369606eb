import autocannon from 'autocannon';
import { BenchFailure } from './report';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

/**
 * Closed-loop HTTP load with autocannon (as a library, in the bench process): `connections` at once for
 * `seconds`. Any status but `expect`, any error or timeout fails the run with the first unexpected status
 * and its body.
 */
export async function httpLoad(opts: {
  url: string;
  method?: 'GET' | 'POST';
  path?: (i: number) => string;
  body?: unknown;
  headers?: Record<string, string>;
  connections: number;
  seconds: number;
  expect: number;
  what: string;
}): Promise<LoadResult> {
  let i = 0;
  let first: { status: number; body: string } | null = null;
  let unexpected = 0;
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const r = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.seconds,
    timeout: 10,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    requests: [
      {
        method: opts.method ?? 'GET',
        body,
        ...(opts.path ? { setupRequest: (req: autocannon.Request) => ({ ...req, path: opts.path!(i++) }) } : {}),
        onResponse: (status: number, resBody: string) => {
          if (status === opts.expect) return;
          unexpected++;
          first ??= { status, body: resBody };
        },
      },
    ],
  });
  if (first !== null || r.errors > 0 || r.timeouts > 0) {
    const f = first as { status: number; body: string } | null;
    const counts = `${unexpected} unexpected statuses (${Object.entries(r.statusCodeStats ?? {})
      .map(([code, s]) => `${code}: ${(s as { count: number }).count}`)
      .join(', ')}), ${r.errors} errors, ${r.timeouts} timeouts`;
    if (f) throw BenchFailure.status(`${opts.what} under load (${counts}); first`, f.status, f.body);
    throw new BenchFailure(`${opts.what} under load: ${counts}`);
  }
  const seconds = r.duration;
  return { requests: r.requests.total, seconds, rps: r.requests.total / seconds, p50: r.latency.p50, p99: r.latency.p99 };
}
