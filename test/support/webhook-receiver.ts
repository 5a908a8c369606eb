import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  raw: string;
  receivedAt: number;
  webhookId: string;
}

/** How a route answers a request: a status (and headers), after an optional delay. */
export type Answer = { status: number; delayMs?: number; headers?: Record<string, string> };
export type Behaviour = (req: ReceivedWebhook, seenForThisId: number) => Answer;

/**
 * Local webhook receivers on 127.0.0.1 (one server, a behaviour per path): every request is kept, with the
 * raw body, so tests can verify signatures and count by webhook-id. Also tracks how many requests of each
 * path are open at once.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly open = new Map<string, number>();
  readonly maxOpen = new Map<string, number>();
  private server!: Server;
  port = 0;

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0];
        const hook: ReceivedWebhook = {
          path,
          headers: req.headers,
          raw: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
          webhookId: String(req.headers['webhook-id'] ?? ''),
        };
        const seen = r.received.filter((x) => x.path === path && x.webhookId === hook.webhookId).length;
        r.received.push(hook);
        const open = (r.open.get(path) ?? 0) + 1;
        r.open.set(path, open);
        r.maxOpen.set(path, Math.max(open, r.maxOpen.get(path) ?? 0));
        const answer: Answer = (r.behaviours.get(path) ?? (() => ({ status: 204 })))(hook, seen);
        // Open until answered, or until the sender gives up and closes the connection.
        res.once('close', () => r.open.set(path, (r.open.get(path) ?? 1) - 1));
        const reply = () => {
          if (!res.destroyed) res.writeHead(answer.status, answer.headers).end();
        };
        if (answer.delayMs) setTimeout(reply, answer.delayMs).unref();
        else reply();
      });
    });
    await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
    r.port = (r.server.address() as AddressInfo).port;
    return r;
  }

  on(path: string, behaviour: Behaviour): string {
    this.behaviours.set(path, behaviour);
    return this.url(path);
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Distinct webhook-ids received on a path. */
  ids(path: string): Set<string> {
    return new Set(this.at(path).map((r) => r.webhookId));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
