import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { jwtFor } from '../../test/support/http';
import { JWT_SECRET, PORTS } from './env';
import { BenchFailure } from './report';

/**
 * The load generator's HTTP client: undici's `request` over kept-alive connections. `fetch` (WHATWG streams
 * over the same undici) cost the bench process about two thirds of its CPU in the open loop, on the same two
 * cores as the system it measures.
 */
const dispatcher = new Agent({ keepAliveTimeout: 30_000 });

async function send(method: string, url: string, headers: Record<string, string>, body?: string | Buffer): Promise<{ status: number; text: string }> {
  const res = await request(url, { method: method as 'GET', headers, body, dispatcher });
  return { status: res.statusCode, text: await res.body.text() };
}

/**
 * Opens a server-sent event stream; its body as the web stream the SDK's parser reads. `null` body and the text
 * on any status but 200.
 */
export async function openEventStream(
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; body: ReadableStream<Uint8Array> | null; text: string }> {
  const res = await request(url, { method: 'GET', headers, signal, dispatcher });
  if (res.statusCode !== 200) return { status: res.statusCode, body: null, text: await res.body.text() };
  return { status: 200, body: Readable.toWeb(res.body) as ReadableStream<Uint8Array>, text: '' };
}

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
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await send(method, `${opts.baseUrl ?? GATEWAY}${path}`, headers, opts.body === undefined ? undefined : JSON.stringify(opts.body));
  let body: unknown = res.text;
  try {
    body = res.text ? JSON.parse(res.text) : null;
  } catch {
    // not JSON: keep the text
  }
  const expected = opts.expect ?? (method === 'POST' ? 201 : 200);
  if (res.status !== expected) throw BenchFailure.status(`${method} ${path}`, res.status, body);
  return body as T;
}

/** A pre-signed PUT to the store; fails the scenario with the store's status and body on anything but 200. */
export async function putObject(url: string, body: Buffer, headers: Record<string, string>): Promise<void> {
  const res = await send('PUT', url, headers, body);
  if (res.status !== 200) throw BenchFailure.status('PUT to the store', res.status, res.text);
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
