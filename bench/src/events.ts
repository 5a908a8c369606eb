import amqp, { Channel, ChannelModel } from 'amqplib';
import { DomainEventType } from '@app/contracts';
import { benchEnv } from './env';
import { BenchFailure } from './report';

export interface SessionTimes {
  uploadedAt?: number;
  /** When the session.uploaded event reached this listener (its clock). */
  uploadedHeardAt?: number;
  completedAt?: number;
  /** When the session.completed (or .failed) event reached this listener (its clock). */
  heardAt?: number;
  /**
   * When the store's ObjectCreated notification for the session's object reached this listener (its clock), while
   * `hearNotifications` is on: a bystander queue on the storage events exchange gets the same message as storage-events.
   */
  notifiedAt?: number;
  failed?: string;
}

/**
 * Listens to the domain events (uploads.events) of the namespace, as a downstream service would, and keeps
 * when each session became UPLOADED and COMPLETED (the events' occurredAt, written in the transaction) and
 * when the final event arrived here.
 */
export class SessionWatch {
  readonly times = new Map<string, SessionTimes>();
  private waiters = new Map<string, (() => void)[]>();

  /** The bystander queue's channel while `hearNotifications` is on. */
  private notifications: Channel | null = null;

  private constructor(private readonly conn: ChannelModel) {}

  static async start(): Promise<SessionWatch> {
    const env = benchEnv();
    const conn = await amqp.connect(env.AMQP_URL);
    const ch = await conn.createChannel();
    await ch.assertExchange(env.DOMAIN_EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, env.DOMAIN_EVENTS_EXCHANGE, 'session.*');
    const watch = new SessionWatch(conn);
    await ch.consume(queue, (m) => m && watch.onEvent(m.fields.routingKey, JSON.parse(m.content.toString('utf8'))), { noAck: true });
    return watch;
  }

  /**
   * Hears the store's notifications as they reach the broker, through a queue of its own bound to the storage
   * events exchange (one more delivery per file, counted in RabbitMQ's and the load generator's CPU while on).
   * The store decides when it sends them: Ceph RGW 16.2's AMQP sender sleeps 100 ms whenever a pass of its loop
   * found nothing to send, so a notification leaves 0–100 ms after its PUT was answered.
   */
  async hearNotifications(on: boolean): Promise<void> {
    if (!on) {
      const ch = this.notifications;
      this.notifications = null;
      await ch?.close().catch(() => undefined);
      return;
    }
    if (this.notifications) return;
    const env = benchEnv();
    const ch = await this.conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, env.STORAGE_EVENTS_EXCHANGE ?? 'storage.events', '#');
    await ch.consume(queue, (m) => m && this.onNotification(m.content), { noAck: true });
    this.notifications = ch;
  }

  private onNotification(content: Buffer): void {
    const at = Date.now();
    let records: { eventName?: string; s3?: { object?: { key?: string } } }[];
    try {
      records = (JSON.parse(content.toString('utf8')) as { Records?: typeof records }).Records ?? [];
    } catch {
      return;
    }
    for (const r of records) {
      if (!r.eventName?.includes('ObjectCreated')) continue;
      // Object keys start with the session id (S3 event keys are URL-encoded; the id has nothing to encode).
      const id = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(r.s3?.object?.key ?? '')?.[0];
      if (!id) continue;
      const t = this.times.get(id) ?? {};
      t.notifiedAt ??= at;
      this.times.set(id, t);
    }
  }

  private onEvent(type: string, body: { occurredAt: string; data: { sessionId: string; error?: string } }): void {
    const id = body.data.sessionId;
    const t = this.times.get(id) ?? {};
    const at = Date.parse(body.occurredAt);
    if (type === DomainEventType.SessionUploaded) {
      t.uploadedAt = at;
      t.uploadedHeardAt ??= Date.now();
    } else if (type === DomainEventType.SessionCompleted) t.completedAt = at;
    else if (type === DomainEventType.SessionFailed) t.failed = body.data.error ?? 'FAILED';
    this.times.set(id, t);
    if (this.isSettled(id)) {
      t.heardAt ??= Date.now();
      for (const w of this.waiters.get(id) ?? []) w();
      this.waiters.delete(id);
    }
  }

  private isSettled(id: string): boolean {
    const t = this.times.get(id);
    return t !== undefined && (t.completedAt !== undefined || t.failed !== undefined);
  }

  /** Resolves when the session is COMPLETED; fails the scenario if it FAILED or nothing came in time. */
  async completion(id: string, timeoutMs: number): Promise<SessionTimes> {
    if (!this.isSettled(id)) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new BenchFailure(`session ${id}: no session.completed within ${timeoutMs} ms (timeout)`)), timeoutMs);
        const list = this.waiters.get(id) ?? [];
        list.push(() => (clearTimeout(timer), resolve()));
        this.waiters.set(id, list);
      });
    }
    const t = this.times.get(id)!;
    if (t.failed) throw new BenchFailure(`session ${id} FAILED: ${t.failed}`);
    return t;
  }

  /** Resolves when every session is COMPLETED or FAILED; rejects after the deadline naming how many are missing. */
  async settled(ids: string[], timeoutMs: number): Promise<void> {
    const pending = ids.filter((id) => !this.isSettled(id));
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all(pending.map((id) => new Promise<void>((resolve) => this.waiters.set(id, [...(this.waiters.get(id) ?? []), resolve]))));
    try {
      await Promise.race([
        all,
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new BenchFailure(`${ids.filter((id) => !this.isSettled(id)).length} of ${ids.length} sessions not settled after ${timeoutMs} ms (timeout)`),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Settled sessions among `ids`. */
  countSettled(ids: string[]): number {
    return ids.filter((id) => this.isSettled(id)).length;
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}
