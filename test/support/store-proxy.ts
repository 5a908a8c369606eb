import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface ProxiedPut {
  sessionId: string | null;
  partNumber: number | null;
  status: number;
}

/** A request the store answered through the proxy. */
export interface ProxiedRequest {
  method: string;
  /** Decoded path: /<bucket>/<key>. */
  path: string;
  status: number;
}

/**
 * A pass-through HTTP proxy in front of the S3 store, to be the pre-signed URLs' host
 * (S3_PUBLIC_ENDPOINT) or an app's S3_ENDPOINT: it keeps the Host header, so signatures stay valid, and
 * records every PUT that the store answered, with its session (from the object key) and part number, and
 * every request in `requests`. `delayMs` slows each PUT down so a test can interrupt a client mid-way;
 * `holdGets` keeps GETs waiting until `releaseGets()` (a reader stuck in the middle of its work).
 */
export class StoreProxy {
  readonly puts: ProxiedPut[] = [];
  readonly requests: ProxiedRequest[] = [];
  delayMs = 0;
  holdGets = false;
  private readonly held: (() => void)[] = [];
  inFlight = 0;
  /** Answers the next `times` PUTs of a part with `status` instead of passing them on (fault injection). */
  readonly faults: { partNumber: number; status: number; times: number }[] = [];

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(upstream: string, port: number): Promise<StoreProxy> {
    const target = new URL(upstream);
    let self: StoreProxy;
    const server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://proxy');
      const isPut = req.method === 'PUT';
      self.inFlight++;
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          self.inFlight--;
        }
      };
      res.on('close', settle);
      const forward = () => {
        // The client went away while the PUT was held back: nothing to pass on.
        if (req.destroyed) return settle();
        const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
          self.requests.push({ method: req.method ?? '', path: decodeURIComponent(u.pathname), status: upRes.statusCode ?? 0 });
          if (isPut) {
            const key = decodeURIComponent(u.pathname).split('/');
            const i = key.indexOf('uploads');
            const part = u.searchParams.get('partNumber');
            self.puts.push({ sessionId: i >= 0 ? (key[i + 1] ?? null) : null, partNumber: part ? Number(part) : null, status: upRes.statusCode ?? 0 });
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', settle);
        });
        up.on('error', () => {
          settle();
          res.destroy();
        });
        req.on('aborted', () => up.destroy());
        req.pipe(up);
      };
      const part = Number(u.searchParams.get('partNumber') ?? NaN);
      const fault = isPut ? self.faults.find((f) => f.partNumber === part && f.times > 0) : undefined;
      if (fault) {
        fault.times--;
        const key = decodeURIComponent(u.pathname).split('/');
        self.puts.push({ sessionId: key[key.indexOf('uploads') + 1] ?? null, partNumber: part, status: fault.status });
        const code = fault.status === 403 ? 'AccessDenied' : 'InternalError';
        req.resume();
        req.on('end', () =>
          res.writeHead(fault.status, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>injected by the test</Message></Error>`),
        );
        return;
      }
      if (isPut && self.delayMs > 0) setTimeout(forward, self.delayMs);
      else if (req.method === 'GET' && self.holdGets) self.held.push(forward);
      else forward();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    self = new StoreProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** GETs pass again; those held so far go on now. */
  releaseGets(): void {
    this.holdGets = false;
    for (const forward of this.held.splice(0)) forward();
  }

  /** GETs held right now. */
  get heldGets(): number {
    return this.held.length;
  }

  /** Every answered PUT of one part of a session, as statuses in arrival order. */
  statusesOf(sessionId: string, partNumber: number): number[] {
    return this.puts.filter((p) => p.sessionId === sessionId && p.partNumber === partNumber).map((p) => p.status);
  }

  /** Successful part PUTs of one session, in arrival order. */
  partsOf(sessionId: string, from = 0): number[] {
    return this.puts
      .slice(from)
      .filter((p) => p.sessionId === sessionId && p.partNumber !== null && p.status === 200)
      .map((p) => p.partNumber!);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
