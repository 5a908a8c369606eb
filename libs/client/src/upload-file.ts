import { GatewayError, SessionStateError, StorageError, UploadCancelledError, UploadClientError } from './errors';
import { Gateway } from './gateway';
import { ProgressMeter, UploadProgress } from './progress';
import { backoffDelay, sleep } from './retry';
import { sha256Of } from './hash';
import { guessContentType, ResolvedSource, resolveSource, UploadSource } from './source';
import { CreatedUpload, PartUrl, Session, SessionDetails, StoredPart, UploadInstructions, UploadRequest } from './types';

/** Where an interrupted upload picks up: its session id (and what a client saved about it). */
export interface ResumeFrom {
  sessionId: string;
  /** The anonymous upload token of the session, if the caller is anonymous. */
  uploadToken?: string;
  /** The part size the session was cut with, when the gateway does not tell. */
  partSize?: number;
}

/** What a caller may save to resume later (see `onSession`). */
export interface SessionHandle {
  sessionId: string;
  uploadToken?: string;
  groupId: string | null;
  /** NONE: a file you already held, copied server-side (nothing is sent). */
  strategy: 'SINGLE' | 'MULTIPART' | 'NONE';
  partSize: number | null;
  totalParts: number;
}

export interface PartEvent {
  sessionId: string;
  partNumber: number;
  bytes: number;
  etag: string;
  attempts: number;
}

export interface SendOptions {
  /** Parts in flight at once (multipart). Default 4. */
  concurrency?: number;
  /** Tries per part (and per single PUT) before giving up. Default 5. */
  maxAttempts?: number;
  signal?: AbortSignal;
  /** Abort the upload on the server when `signal` fires. Default true. */
  abortOnCancel?: boolean;
  onProgress?: (p: UploadProgress) => void;
  /** Called once the session exists, before any byte is sent: save it to resume after a crash. */
  onSession?: (s: SessionHandle) => void | Promise<void>;
  /** Called after each part the store acknowledged. */
  onPart?: (e: PartEvent) => void;
  /** Base delay of the exponential backoff between tries, ms. Default 250. */
  backoffMs?: number;
}

/**
 * The session's fields (as in POST /v1/uploads; `filename`, `contentType` and `size` come from the source
 * when it knows them; `size` is required for streams; `multipart` forces or refuses parts, by default the
 * gateway decides from the size) and how to send it.
 */
export interface UploadFileOptions extends SendOptions, Partial<UploadRequest> {
  /** Continue this session instead of creating one: only the parts the store lacks are sent. */
  resume?: string | ResumeFrom;
  /**
   * Hash the file first (streamed from its source, reported as the `hashing` phase of the progress), ask the gateway
   * whether you already hold it (POST /v1/uploads/check) and if so send nothing: the new session is a server-side
   * copy of your stored one (`reused: true`). Needs a source that can be read twice (a path, a Blob, bytes).
   */
  skipExisting?: boolean;
}

export interface UploadResult {
  sessionId: string;
  uploadToken?: string;
  strategy: 'SINGLE' | 'MULTIPART' | 'NONE';
  /** No byte was sent: the store copied your stored upload `duplicateOf`. */
  reused: boolean;
  duplicateOf: string | null;
  /** The session after the gateway confirmed the bytes (UPLOADED, or further along). */
  session: Session;
  /** Part numbers sent by this run (multipart). */
  partsSent: number[];
  /** Part numbers the store already held (resume). */
  partsSkipped: number[];
  bytesSent: number;
}

const RESUMABLE: readonly string[] = ['PENDING_UPLOAD', 'UPLOADING'];
const ALREADY_UP: readonly string[] = ['UPLOADED', 'PROCESSING', 'COMPLETED'];
const URL_BATCH = 50;
const URL_SAFETY_MS = 30_000;

/**
 * Uploads one file: creates the session (or resumes one), sends the bytes the way the gateway said (one
 * PUT, or parts in parallel with retries and fresh URLs when they expire), then asks the gateway to
 * complete. Cancel with `signal`: the upload is aborted on the server.
 */
export async function uploadFileWith(gateway: Gateway, source: UploadSource, options: UploadFileOptions = {}): Promise<UploadResult> {
  const src = await resolveSource(source, options.size);
  if (options.size !== undefined && options.size !== src.size) throw new TypeError(`size ${options.size} does not match the source's ${src.size} bytes`);
  if (options.resume) return resumeUpload(gateway, src, typeof options.resume === 'string' ? { sessionId: options.resume } : options.resume, options);
  const filename = options.filename ?? src.name;
  if (!filename) throw new TypeError('filename is required for a Buffer, an unnamed Blob or a stream');
  options.signal?.throwIfAborted();
  const { groupId, multipart, partSize, jobs, metadata } = options;
  let { checksumSha256, ifExists } = options;
  if (options.skipExisting) {
    const meter = new ProgressMeter(filename, src.size, 1, options.onProgress);
    meter.hashing(0);
    checksumSha256 ??= await sha256Of(src, (n) => meter.hashing(n), options.signal);
    const [held] = await gateway.checkUploads([{ checksumSha256, size: src.size }], options.signal);
    ifExists = held?.exists ? 'reuse' : ifExists;
  }
  const request: UploadRequest = {
    filename,
    contentType: options.contentType ?? src.contentType ?? guessContentType(filename),
    size: src.size,
    checksumSha256,
    ifExists,
    groupId,
    multipart,
    partSize,
    jobs,
    metadata,
  };
  const created = await gateway.createUpload(request, options.signal);
  return sendCreated(gateway, src, created, options);
}

/** Sends the bytes of a session the gateway just created (also used for each file of a group). */
export async function sendCreated(gateway: Gateway, src: ResolvedSource, created: CreatedUpload, options: SendOptions): Promise<UploadResult> {
  const upload = created.upload;
  gateway.rememberToken(created.id, created.uploadToken);
  const handle: SessionHandle = {
    sessionId: created.id,
    uploadToken: gateway.tokenOf(created.id),
    groupId: created.groupId ?? null,
    strategy: upload.strategy,
    partSize: upload.strategy === 'MULTIPART' ? upload.partSize : null,
    totalParts: upload.strategy === 'MULTIPART' ? upload.totalParts : 1,
  };
  await options.onSession?.(handle);
  const meter = new ProgressMeter(created.filename, src.size, handle.totalParts, options.onProgress, Date.now, created.id);
  if (upload.strategy === 'NONE') {
    // Nothing to send: the store copied the held file before the gateway answered; confirm it like a single PUT.
    meter.alreadyHeld(src.size, 1);
    const done = await gateway.complete(created.id, undefined, options.signal);
    return { ...resultBase(handle), reused: true, duplicateOf: upload.duplicateOf, session: done, partsSent: [], partsSkipped: [], bytesSent: 0 };
  }
  meter.emit();
  const plan: MultipartPlan | null =
    upload.strategy === 'MULTIPART'
      ? {
          partSize: upload.partSize,
          totalParts: upload.totalParts,
          missing: range(1, upload.totalParts),
          held: [],
          urls: upload.parts,
          urlsExpireAt: Date.parse(upload.expiresAt),
        }
      : null;
  return run(gateway, src, created, handle, plan, upload, meter, options);
}

async function resumeUpload(gateway: Gateway, src: ResolvedSource, from: ResumeFrom, options: UploadFileOptions): Promise<UploadResult> {
  gateway.rememberToken(from.sessionId, from.uploadToken);
  const session = await gateway.getUpload(from.sessionId, options.signal);
  if (session.size !== src.size)
    throw new SessionStateError(`session ${session.id} is for ${session.size} bytes; this source has ${src.size}`, session.id, session.status);
  const handleBase = { sessionId: session.id, uploadToken: gateway.tokenOf(session.id), groupId: session.groupId ?? null };
  if (ALREADY_UP.includes(session.status)) {
    const meter = new ProgressMeter(session.filename, src.size, session.totalParts || 1, options.onProgress, Date.now, session.id);
    meter.alreadyHeld(src.size, session.totalParts || 1);
    return {
      ...handleBase,
      strategy: session.uploadId ? 'MULTIPART' : 'SINGLE',
      reused: false,
      duplicateOf: null,
      session,
      partsSent: [],
      partsSkipped: range(1, session.totalParts || 1),
      bytesSent: 0,
    };
  }
  if (!RESUMABLE.includes(session.status)) {
    throw new SessionStateError(
      `session ${session.id} is ${session.status}${session.error ? ` (${session.error})` : ''}: it cannot be resumed`,
      session.id,
      session.status,
    );
  }
  if (!session.uploadId) {
    throw new SessionStateError(`session ${session.id} is a single-PUT upload: it cannot be resumed, upload the file again`, session.id, session.status);
  }
  const stored = await gateway.storedParts(session.id, options.signal);
  const totalParts = session.totalParts;
  let partSize = session.partSize ?? from.partSize ?? partSizeFromStored(session, stored);
  let firstUrls: { parts: PartUrl[]; expiresAt?: string } | null = null;
  if (!partSize) {
    // Not told and nothing to infer it from: the URLs of the missing parts sign their exact lengths.
    const storedNumbers = new Set(stored.map((p) => p.partNumber));
    firstUrls = await gateway.partUrls(
      session.id,
      range(1, totalParts)
        .filter((n) => !storedNumbers.has(n))
        .slice(0, URL_BATCH),
      options.signal,
    );
    partSize = firstUrls.parts.find((p) => p.partNumber < totalParts && p.size)?.size ?? null;
    if (!partSize) throw new SessionStateError(`session ${session.id}: the part size is unknown; pass resume.partSize`, session.id, session.status);
  }
  const lengthOf = (n: number) => (n < totalParts ? partSize : src.size - partSize * (totalParts - 1));
  const held = stored.filter((p) => p.partNumber >= 1 && p.partNumber <= totalParts && p.size === lengthOf(p.partNumber));
  const heldNumbers = new Set(held.map((p) => p.partNumber));
  const handle: SessionHandle = { ...handleBase, strategy: 'MULTIPART', partSize, totalParts };
  await options.onSession?.(handle);
  const meter = new ProgressMeter(session.filename, src.size, totalParts, options.onProgress, Date.now, session.id);
  meter.alreadyHeld(
    held.reduce((n, p) => n + p.size, 0),
    held.length,
  );
  const plan: MultipartPlan = {
    partSize,
    totalParts,
    missing: range(1, totalParts).filter((n) => !heldNumbers.has(n)),
    held,
    urls: firstUrls?.parts ?? [],
    urlsExpireAt: firstUrls?.expiresAt ? Date.parse(firstUrls.expiresAt) : 0,
  };
  return run(gateway, src, session, handle, plan, null, meter, options);
}

/** Without the part size from the gateway: any stored part but the last has exactly the part size. */
function partSizeFromStored(session: SessionDetails, stored: StoredPart[]): number | null {
  if (session.totalParts === 1) return session.size;
  return stored.find((p) => p.partNumber < session.totalParts)?.size ?? null;
}

interface MultipartPlan {
  partSize: number;
  totalParts: number;
  missing: number[];
  held: StoredPart[];
  urls: PartUrl[];
  urlsExpireAt: number;
}

async function run(
  gateway: Gateway,
  src: ResolvedSource,
  session: Session,
  handle: SessionHandle,
  plan: MultipartPlan | null,
  single: UploadInstructions | null,
  meter: ProgressMeter,
  options: SendOptions,
): Promise<UploadResult> {
  // One controller for everything in flight: the caller's cancel, or the first permanent failure.
  const inner = new AbortController();
  const onCancel = () => inner.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onCancel, { once: true });
  try {
    options.signal?.throwIfAborted();
    let partsSent: number[] = [];
    if (plan) {
      const sent = await sendParts(gateway, src, session.id, plan, meter, options, inner);
      partsSent = [...sent.keys()].sort((a, b) => a - b);
      const etags = new Map<number, string>([...plan.held.map((p): [number, string] => [p.partNumber, p.etag]), ...sent]);
      const parts = [...etags.entries()].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }));
      const done = await gateway.complete(session.id, parts, inner.signal);
      return {
        ...resultBase(handle),
        session: done,
        partsSent,
        partsSkipped: plan.held.map((p) => p.partNumber),
        bytesSent: sumLengths(src.size, plan, partsSent),
      };
    }
    if (single?.strategy !== 'SINGLE') throw new UploadClientError(`session ${session.id}: no upload instructions`);
    await sendSingle(gateway, src, single, options, inner.signal);
    meter.add(src.size, 1);
    const done = await gateway.complete(session.id, undefined, inner.signal).catch((e: unknown) => {
      // A gateway without the route (404 without a domain code): the store's notification confirms the upload.
      if (e instanceof GatewayError && e.statusCode === 404 && !e.code) return gateway.getUpload(session.id, inner.signal);
      throw e;
    });
    return { ...resultBase(handle), session: done, partsSent: [1], partsSkipped: [], bytesSent: src.size };
  } catch (e) {
    if (options.signal?.aborted) {
      let abortedOnServer = false;
      if (options.abortOnCancel !== false) {
        await gateway.abort(session.id).then(
          () => (abortedOnServer = true),
          () => undefined,
        );
      }
      throw new UploadCancelledError(session.id, abortedOnServer);
    }
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', onCancel);
  }
}

const resultBase = (h: SessionHandle) => ({
  sessionId: h.sessionId,
  uploadToken: h.uploadToken,
  strategy: h.strategy,
  reused: false,
  duplicateOf: null as string | null,
});

async function sendSingle(
  gateway: Gateway,
  src: ResolvedSource,
  up: Extract<UploadInstructions, { strategy: 'SINGLE' }>,
  options: SendOptions,
  signal: AbortSignal,
): Promise<void> {
  const headers = { ...up.headers };
  if (src.rest) {
    // A stream can be sent once only: no retry.
    const res = await gateway.fetch(up.url, {
      method: 'PUT',
      headers: { ...headers, 'content-length': String(src.size) },
      body: src.rest(),
      signal,
      duplex: 'half',
    } as RequestInit);
    await res.arrayBuffer().catch(() => undefined);
    // 412: the URL's If-None-Match found the object already stored (an earlier run of this upload): completion checks it.
    if (!res.ok && res.status !== 412) throw new StorageError(`the store refused the upload: HTTP ${res.status}`, res.status);
    return;
  }
  await putWithRetries(
    gateway,
    () => src.slice!(0, src.size),
    async () => ({ url: up.url, headers }),
    undefined,
    options,
    signal,
    undefined,
  );
}

async function sendParts(
  gateway: Gateway,
  src: ResolvedSource,
  sessionId: string,
  plan: MultipartPlan,
  meter: ProgressMeter,
  options: SendOptions,
  inner: AbortController,
): Promise<Map<number, string>> {
  /** Part number → ETag of the parts this run sent. */
  const etags = new Map<number, string>();
  const lengthOf = (n: number) => (n < plan.totalParts ? plan.partSize : src.size - plan.partSize * (plan.totalParts - 1));
  const urls = new PartUrlCache(gateway, sessionId, plan, inner.signal);
  const queue = [...plan.missing];
  // Streams are read in order, one part at a time; parts the store holds are read past.
  let nextStreamByte = 0;
  let streamLock: Promise<unknown> = Promise.resolve();
  const bodyOf = async (n: number): Promise<Blob | Uint8Array> => {
    const start = (n - 1) * plan.partSize;
    if (src.slice) return src.slice(start, start + lengthOf(n));
    const read = streamLock.then(async () => {
      while (nextStreamByte < start) {
        const skip = Math.min(plan.partSize, start - nextStreamByte);
        await src.read!(skip);
        nextStreamByte += skip;
      }
      const bytes = await src.read!(lengthOf(n));
      nextStreamByte += bytes.byteLength;
      return bytes;
    });
    streamLock = read.catch(() => undefined);
    return read;
  };

  const worker = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      inner.signal.throwIfAborted();
      const body = await bodyOf(n);
      const { etag, attempts } = await putWithRetries(
        gateway,
        () => body,
        (stale) => urls.get(n, stale),
        n,
        options,
        inner.signal,
        lengthOf(n),
      );
      etags.set(n, etag);
      meter.add(lengthOf(n), 1);
      options.onPart?.({ sessionId, partNumber: n, bytes: lengthOf(n), etag, attempts });
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, () =>
    worker().catch((e) => {
      // The first failure stops the others; the session stays open for a resume.
      if (!inner.signal.aborted) inner.abort(e);
      throw e;
    }),
  );
  const results = await Promise.allSettled(workers);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw inner.signal.reason instanceof Error ? inner.signal.reason : failure.reason;
  return etags;
}

/** Part URLs by number: the first batch from the gateway, more (or fresh ones) via POST /parts in batches. */
class PartUrlCache {
  private readonly urls = new Map<number, { url: string; headers?: Record<string, string>; expiresAt: number }>();
  private readonly inFlight = new Map<number, Promise<void>>();

  constructor(
    private readonly gateway: Gateway,
    private readonly sessionId: string,
    private readonly plan: MultipartPlan,
    private readonly signal: AbortSignal,
  ) {
    for (const p of plan.urls) this.urls.set(p.partNumber, { url: p.url, headers: p.headers, expiresAt: plan.urlsExpireAt || Infinity });
  }

  async get(n: number, stale?: string): Promise<{ url: string; headers?: Record<string, string> }> {
    let entry = this.urls.get(n);
    if (!entry || entry.url === stale || entry.expiresAt - URL_SAFETY_MS < Date.now()) {
      await (this.inFlight.get(n) ?? this.fetch(n, stale));
      entry = this.urls.get(n);
    }
    if (!entry) throw new UploadClientError(`the gateway gave no URL for part ${n}`);
    return entry;
  }

  private fetch(n: number, stale?: string): Promise<void> {
    // This part, and the next parts still without a usable URL, in one call.
    const wanted = [n];
    for (const m of this.plan.missing) {
      if (wanted.length >= URL_BATCH) break;
      const e = this.urls.get(m);
      if (m !== n && !this.inFlight.has(m) && (!e || e.expiresAt - URL_SAFETY_MS < Date.now()) && m > n) wanted.push(m);
    }
    if (stale) this.urls.delete(n);
    const p = this.gateway.partUrls(this.sessionId, wanted, this.signal).then((res) => {
      const expiresAt = res.expiresAt ? Date.parse(res.expiresAt) : Date.now() + 5 * 60_000;
      for (const part of res.parts) this.urls.set(part.partNumber, { url: part.url, headers: part.headers, expiresAt });
    });
    const done = p.finally(() => wanted.forEach((m) => this.inFlight.delete(m)));
    wanted.forEach((m) => this.inFlight.set(m, done));
    return done;
  }
}

/**
 * PUTs one body, trying again with exponential backoff on network errors and 5xx, and with a fresh URL
 * when the store answers 403 (an expired signature looks like that).
 */
async function putWithRetries(
  gateway: Gateway,
  body: () => Blob | Uint8Array,
  urlFor: (stale?: string) => Promise<{ url: string; headers?: Record<string, string> }>,
  partNumber: number | undefined,
  options: SendOptions,
  signal: AbortSignal,
  length: number | undefined,
): Promise<{ etag: string; attempts: number }> {
  const maxAttempts = options.maxAttempts ?? 5;
  const what = partNumber === undefined ? 'the file' : `part ${partNumber}`;
  let stale: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const target = await urlFor(stale);
    stale = undefined;
    let status: number | null = null;
    let reason: string;
    try {
      const headers: Record<string, string> = { ...target.headers };
      if (length !== undefined) headers['content-length'] ??= String(length);
      const res = await gateway.fetch(target.url, { method: 'PUT', headers, body: body() as NonNullable<RequestInit['body']>, signal });
      const text = await res.text().catch(() => '');
      if (res.ok) {
        const etag = res.headers.get('etag');
        if (partNumber !== undefined && !etag)
          throw new StorageError(`the store gave no ETag for ${what} (is ETag exposed by the bucket's CORS rule?)`, res.status, partNumber);
        return { etag: etag ?? '', attempts: attempt };
      }
      // A single PUT signs If-None-Match: * (one write per URL): 412 means an earlier attempt whose answer was lost stored it.
      if (res.status === 412 && partNumber === undefined) return { etag: '', attempts: attempt };
      status = res.status;
      reason = `HTTP ${res.status}${/<Code>([^<]+)<\/Code>/.exec(text)?.[1] ? ` ${/<Code>([^<]+)<\/Code>/.exec(text)![1]}` : ''}`;
      if (res.status === 403 && partNumber !== undefined) stale = target.url;
      else if (res.status < 500 && res.status !== 408 && res.status !== 429)
        throw new StorageError(`the store refused ${what}: ${reason}`, res.status, partNumber);
    } catch (e) {
      if (signal.aborted || e instanceof StorageError || e instanceof GatewayError) throw e;
      reason = (e as Error).message;
    }
    if (attempt >= maxAttempts) throw new StorageError(`${what} failed after ${attempt} tries: ${reason}`, status, partNumber);
    if (!stale) await sleep(backoffDelay(attempt, options.backoffMs ?? 250), signal);
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function sumLengths(size: number, plan: MultipartPlan, parts: number[]): number {
  return parts.reduce((n, p) => n + (p < plan.totalParts ? plan.partSize : size - plan.partSize * (plan.totalParts - 1)), 0);
}
