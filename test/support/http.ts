import { createHmac } from 'node:crypto';
import { GATEWAY_URL, JWT_SECRET } from './test-env';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the gateway like a client would. */
export async function api<T = any>(
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; token?: string; uploadToken?: string; headers?: Record<string, string>; baseUrl?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined || opts.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.uploadToken) headers['x-upload-token'] = opts.uploadToken;
  const res = await fetch(`${opts.baseUrl ?? GATEWAY_URL}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/**
 * An upload token the gateway issued, as a page gets it: the cookie that serving /demo sets (over http: `upload_token`).
 * Anonymous Uppy uploads take no other (issue 16).
 */
export async function issuedUploadToken(baseUrl = GATEWAY_URL): Promise<string> {
  const res = await fetch(`${baseUrl}/demo`);
  await res.arrayBuffer();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('upload_token='));
  if (!cookie) throw new Error(`GET /demo set no upload_token cookie (${res.status})`);
  return decodeURIComponent(cookie.slice('upload_token='.length).split(';')[0]);
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 JWT signed with the test secret (or another, to test rejection); `roles` go into the gateway's admin claim (JWT_ADMIN_CLAIM's default). */
export function jwtFor(sub: string, opts: { roles?: string[]; expiresInSeconds?: number; secret?: string; extra?: Record<string, unknown> } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const payload = b64({
    sub,
    iat: now,
    exp: now + (opts.expiresInSeconds ?? 3600),
    ...(opts.roles ? { upload_platform_roles: opts.roles } : {}),
    ...opts.extra,
  });
  const sig = createHmac('sha256', opts.secret ?? JWT_SECRET)
    .update(`${head}.${payload}`)
    .digest('base64url');
  return `${head}.${payload}.${sig}`;
}

/** PUTs bytes to a pre-signed URL as a browser or SDK would. */
export async function putToUrl(url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'PUT', body, headers });
  await res.arrayBuffer();
  return res.status;
}
