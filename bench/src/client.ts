import { api, jwtFor } from '../../test/support/http';
import { JWT_SECRET, PORTS } from './env';

export const GATEWAY = `http://127.0.0.1:${PORTS.gateway}`;

/** A bearer token of the bench namespace, good for the whole run. */
export function tokenFor(userId: string): string {
  return jwtFor(userId, { secret: JWT_SECRET, expiresInSeconds: 6 * 3600 });
}

/** Calls the gateway; fails the scenario unless the status is the expected one. */
export async function call<T = any>(method: string, path: string, opts: { body?: unknown; token?: string; expect?: number; baseUrl?: string } = {}): Promise<T> {
  const res = await api<T>(method, path, { body: opts.body, token: opts.token, baseUrl: opts.baseUrl ?? GATEWAY });
  const expected = opts.expect ?? (method === 'POST' ? 201 : 200);
  if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
  return res.body;
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
