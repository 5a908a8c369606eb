import { UploadClientError } from './errors';

/** A delivery that is not authentic or not fresh: answer it with a 4xx and do not act on it. */
export class WebhookVerificationError extends UploadClientError {
  override name = 'WebhookVerificationError';
}

/** The body every webhook delivers: a domain event, as on RabbitMQ. */
export interface WebhookEvent<D = Record<string, unknown>> {
  id: string;
  type: string;
  occurredAt: string;
  version: number;
  correlationId?: string;
  data: D;
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now (default 300 s): older deliveries are refused as replays. */
  toleranceSeconds?: number;
  /** Clock (ms), for tests. */
  now?: () => number;
}

const SECRET_PREFIX = 'whsec_';

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function fromBase64(value: string): Uint8Array {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Verifies a webhook delivery per Standard Webhooks and returns its event: `webhook-signature` must hold a
 * `v1,` HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` made with `secret` (one of its signatures
 * is enough: during a secret rotation there are two), and `webhook-timestamp` must be within
 * `toleranceSeconds` of now. Pass the body exactly as received (raw text or bytes, never re-serialized
 * JSON). Deduplicate on `webhook-id`: deliveries are at least once. Uses Web Crypto (Node 20+, browsers,
 * edge runtimes). Throws WebhookVerificationError.
 */
export async function verifyWebhook<D = Record<string, unknown>>(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  opts: VerifyWebhookOptions = {},
): Promise<WebhookEvent<D>> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not a Unix time in seconds');
  const tolerance = opts.toleranceSeconds ?? 300;
  const skew = Math.abs((opts.now ?? Date.now)() / 1000 - Number(timestamp));
  if (skew > tolerance) throw new WebhookVerificationError(`webhook-timestamp is ${Math.round(skew)} s away from now (tolerance ${tolerance} s)`);

  let keyBytes: Uint8Array<ArrayBuffer>;
  try {
    keyBytes = concat(fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret));
  } catch {
    throw new WebhookVerificationError('the secret is not a whsec_<base64> secret');
  }
  const key = await crypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const encoder = new TextEncoder();
  const bodyBytes = typeof body === 'string' ? encoder.encode(body) : body;
  const signed = concat(encoder.encode(`${id}.${timestamp}.`), bodyBytes);

  for (const entry of signatures.split(' ')) {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) continue;
    let candidate: Uint8Array<ArrayBuffer>;
    try {
      candidate = concat(fromBase64(value));
    } catch {
      continue;
    }
    // Web Crypto compares in constant time.
    if (await crypto.subtle.verify('HMAC', key, candidate, signed)) {
      const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
      try {
        return JSON.parse(text) as WebhookEvent<D>;
      } catch {
        throw new WebhookVerificationError('the signed body is not JSON');
      }
    }
  }
  throw new WebhookVerificationError('no signature matches this secret');
}
