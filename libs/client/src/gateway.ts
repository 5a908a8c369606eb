import { GatewayError, GatewayErrorBody, UploadClientError } from './errors';
import { backoffDelay, sleep } from './retry';
import {
  CheckedFile,
  CreatedGroup,
  CreatedUpload,
  Group,
  LiveKind,
  Page,
  PartUrl,
  Session,
  SessionDetails,
  StoredPart,
  StreamTicket,
  UploadRequest,
} from './types';

export interface GatewayOptions {
  /** Base URL of the gateway, e.g. http://localhost:3000. */
  server: string;
  /** A bearer JWT. Without it the caller is anonymous and upload tokens are kept per session and group. */
  token?: string;
  /** Upload tokens already known (session or group id → X-Upload-Token), e.g. to resume or to follow a session. */
  uploadTokens?: Record<string, string>;
  /** Another fetch (tests, proxies). Defaults to the global one (Node 20, browsers). */
  fetch?: typeof fetch;
  /** How often an idempotent call is tried again after a network error or a 5xx. Default 3. */
  retries?: number;
}

interface CallOptions {
  body?: unknown;
  /** Ids whose upload token may authorize the call (the first one known is sent). */
  tokenFor?: (string | null | undefined)[];
  signal?: AbortSignal;
  /** Safe to send again after a network error or a 5xx. */
  idempotent?: boolean;
}

/**
 * The gateway's v1 API over fetch. Knows the caller's identity: a bearer token, or the anonymous upload
 * tokens handed out when a session or group is created (kept here per id and sent as X-Upload-Token).
 */
export class Gateway {
  readonly server: string;
  private readonly fetchImpl: typeof fetch;
  private readonly tokens = new Map<string, string>();
  private readonly retries: number;

  constructor(private readonly options: GatewayOptions) {
    this.server = options.server.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.retries = options.retries ?? 3;
    for (const [id, t] of Object.entries(options.uploadTokens ?? {})) this.tokens.set(id, t);
  }

  get fetch(): typeof fetch {
    return this.fetchImpl;
  }

  /** Remembers the anonymous upload token of a session or group. */
  rememberToken(id: string, token: string | undefined): void {
    if (token) this.tokens.set(id, token);
  }

  tokenOf(id: string): string | undefined {
    return this.tokens.get(id);
  }

  async createUpload(body: UploadRequest, signal?: AbortSignal): Promise<CreatedUpload> {
    const created = await this.call<CreatedUpload>('POST', '/v1/uploads', { body, signal, tokenFor: [body.groupId] });
    this.rememberToken(created.id, created.uploadToken ?? (body.groupId ? this.tokens.get(body.groupId) : undefined));
    return created;
  }

  /** Which of these files (base64 SHA-256, size) you already hold as COMPLETED uploads; at most 1,000 per call. */
  async checkUploads(files: { checksumSha256: string; size: number }[], signal?: AbortSignal): Promise<CheckedFile[]> {
    const res = await this.call<{ files: CheckedFile[] }>('POST', '/v1/uploads/check', { body: { files }, signal, idempotent: true });
    return res.files;
  }

  getUpload(id: string, signal?: AbortSignal): Promise<SessionDetails> {
    return this.call('GET', `/v1/uploads/${enc(id)}`, { signal, tokenFor: [id], idempotent: true });
  }

  listUploads(query: { status?: string; groupId?: string; cursor?: string; limit?: number } = {}, signal?: AbortSignal): Promise<Page<Session>> {
    const qs = new URLSearchParams(
      Object.entries(query)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    ).toString();
    return this.call('GET', `/v1/uploads${qs ? `?${qs}` : ''}`, { signal, tokenFor: [query.groupId], idempotent: true });
  }

  /** Fresh pre-signed URLs for these parts (resume, expired URLs). */
  partUrls(id: string, partNumbers: number[], signal?: AbortSignal): Promise<{ parts: PartUrl[]; expiresAt?: string }> {
    return this.call('POST', `/v1/uploads/${enc(id)}/parts`, { body: { partNumbers }, signal, tokenFor: [id], idempotent: true });
  }

  /** The parts the store already holds. */
  async storedParts(id: string, signal?: AbortSignal): Promise<StoredPart[]> {
    const res = await this.call<{ parts: StoredPart[] } | { items: StoredPart[] } | StoredPart[]>('GET', `/v1/uploads/${enc(id)}/parts`, {
      signal,
      tokenFor: [id],
      idempotent: true,
    });
    const list = Array.isArray(res) ? res : 'parts' in res ? res.parts : res.items;
    return list.filter((p) => p.etag && (p as { status?: string }).status !== 'FAILED');
  }

  complete(id: string, parts?: { partNumber: number; etag: string }[], signal?: AbortSignal): Promise<Session> {
    return this.call('POST', `/v1/uploads/${enc(id)}/complete`, { body: parts ? { parts } : {}, signal, tokenFor: [id], idempotent: true });
  }

  abort(id: string, signal?: AbortSignal): Promise<Session> {
    return this.call('POST', `/v1/uploads/${enc(id)}/abort`, { body: {}, signal, tokenFor: [id], idempotent: true });
  }

  async download(id: string, signal?: AbortSignal): Promise<{ url: string; expiresAt?: string }> {
    return this.call('GET', `/v1/uploads/${enc(id)}/download`, { signal, tokenFor: [id], idempotent: true });
  }

  async createGroup(
    body: { name: string; description?: string; totalFiles?: number; expiresInSeconds?: number; files?: UploadRequest[] },
    signal?: AbortSignal,
  ): Promise<CreatedGroup> {
    const created = await this.call<CreatedGroup>('POST', '/v1/groups', { body, signal });
    this.rememberToken(created.id, created.uploadToken);
    for (const u of created.uploads ?? []) this.rememberToken(u.id, u.uploadToken ?? created.uploadToken);
    return created;
  }

  getGroup(id: string, signal?: AbortSignal): Promise<Group> {
    return this.call('GET', `/v1/groups/${enc(id)}`, { signal, tokenFor: [id], idempotent: true });
  }

  cancelGroup(id: string, signal?: AbortSignal): Promise<Group> {
    return this.call('POST', `/v1/groups/${enc(id)}/cancel`, { body: {}, signal, tokenFor: [id], idempotent: true });
  }

  /**
   * Opens the live event stream of a session or group (GET …/events, text/event-stream) with this caller's
   * identity; the Response once the gateway accepted it (read it with `parseEventStream`). Throws GatewayError
   * when the gateway refuses it (404, 429 beyond the stream limits, 503 without its broker; 404 too from a gateway
   * that has no streams), UploadClientError when it cannot be reached.
   */
  async openEvents(kind: LiveKind, id: string, opts: { signal?: AbortSignal; lastEventId?: string } = {}): Promise<Response> {
    const path = `${kind === 'session' ? '/v1/uploads' : '/v1/groups'}/${enc(id)}/events`;
    const headers = this.headers([id], 'text/event-stream');
    if (opts.lastEventId) headers['last-event-id'] = opts.lastEventId;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.server}${path}`, { headers, signal: opts.signal });
    } catch (e) {
      throw new UploadClientError(`GET ${path}: ${(e as Error).message}${causeOf(e)}`, { cause: e });
    }
    if (res.ok && (res.headers.get('content-type') ?? '').startsWith('text/event-stream') && res.body) return res;
    const text = await res.text().catch(() => '');
    throw new GatewayError(
      'GET',
      path,
      res.ok ? { statusCode: 502, error: 'Bad Gateway', message: `GET ${path} did not answer with an event stream` } : toErrorBody(res, parse(text), text),
    );
  }

  /**
   * A short-lived ticket that opens one live stream without headers, for a browser's `new EventSource(url)`:
   * `url` is absolute and carries the ticket (never the bearer or upload token). Mint another once it expires.
   */
  async streamTicket(kind: LiveKind, id: string, signal?: AbortSignal): Promise<StreamTicket> {
    const path = `${kind === 'session' ? '/v1/uploads' : '/v1/groups'}/${enc(id)}/events/tickets`;
    const minted = await this.call<StreamTicket>('POST', path, { signal, tokenFor: [id], idempotent: true });
    return { ...minted, url: `${this.server}${minted.url}` };
  }

  /** Accept, identity and upload token of a call about these ids. */
  private headers(tokenFor: (string | null | undefined)[], accept = 'application/json'): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const uploadToken = tokenFor.map((id) => (id ? this.tokens.get(id) : undefined)).find(Boolean);
    if (uploadToken) headers['x-upload-token'] = uploadToken;
    return headers;
  }

  /** One call; throws GatewayError with the gateway's body on an error status. */
  async call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
    const headers = this.headers(opts.tokenFor ?? []);
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const attempts = opts.idempotent ? this.retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(`${this.server}${path}`, {
          method,
          headers,
          body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
          signal: opts.signal,
        });
      } catch (e) {
        if (opts.signal?.aborted || attempt >= attempts) throw new UploadClientError(`${method} ${path}: ${(e as Error).message}${causeOf(e)}`, { cause: e });
        await sleep(backoffDelay(attempt), opts.signal);
        continue;
      }
      const text = await res.text();
      const body = parse(text);
      if (res.ok) return body as T;
      const error = new GatewayError(method, path, toErrorBody(res, body, text));
      if (!error.retryable || attempt >= attempts) throw error;
      await sleep(backoffDelay(attempt), opts.signal);
    }
  }
}

const enc = encodeURIComponent;

function parse(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toErrorBody(res: Response, body: unknown, text: string): GatewayErrorBody {
  if (body && typeof body === 'object' && typeof (body as GatewayErrorBody).message === 'string') {
    const b = body as Partial<GatewayErrorBody>;
    return { ...b, statusCode: b.statusCode ?? res.status, error: b.error ?? res.statusText, message: b.message! };
  }
  return { statusCode: res.status, error: res.statusText, message: text.slice(0, 300) || `HTTP ${res.status}` };
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message})` : '';
}
