import { api, jwtFor } from '../../test/support/http';
import { JWT_SECRET, PORTS } from './env';
import { BenchFailure } from './report';

export const GATEWAY = `http://127.0.0.1:${PORTS.gateway}`;

/** A bearer token of the bench namespace, good for the whole run. */
export function tokenFor(userId: string): string {
  return jwtFor(userId, { secret: JWT_SECRET, expiresInSeconds: 6 * 3600 });
}

/** Calls the gateway; fails the scenario (status and body) unless the status is the expected one. */
export async function call<T = any>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; expect?: number; baseUrl?: string; headers?: Record<string, string> } = {},
): Promise<T> {
  const res = await api<T>(method, path, { body: opts.body, token: opts.token, baseUrl: opts.baseUrl ?? GATEWAY, headers: opts.headers });
  const expected = opts.expect ?? (method === 'POST' ? 201 : 200);
  if (res.status !== expected) throw BenchFailure.status(`${method} ${path}`, res.status, res.body);
  return res.body;
}

/** A pre-signed PUT to the store; fails the scenario with the store's status and body on anything but 200. */
export async function putObject(url: string, body: Buffer, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body, headers });
  const text = await res.text();
  if (res.status !== 200) throw BenchFailure.status('PUT to the store', res.status, text);
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function inParallel<T>(items: T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i], i);
      }
    }),
  );
}
