import amqp, { ChannelModel } from 'amqplib';
import { DomainEventType } from '@app/contracts';
import { benchEnv } from './env';

export interface SessionTimes {
  uploadedAt?: number;
  completedAt?: number;
  failed?: string;
}

/**
 * Listens to the domain events (uploads.events) of the namespace, as a downstream service would, and keeps
 * when each session became UPLOADED and COMPLETED (the events' occurredAt, written in the transaction).
 */
export class SessionWatch {
  readonly times = new Map<string, SessionTimes>();
  private waiters: { ids: Set<string>; resolve: () => void }[] = [];

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

  private onEvent(type: string, body: { occurredAt: string; data: { sessionId: string; error?: string } }): void {
    const id = body.data.sessionId;
    const t = this.times.get(id) ?? {};
    const at = Date.parse(body.occurredAt);
    if (type === DomainEventType.SessionUploaded) t.uploadedAt = at;
    else if (type === DomainEventType.SessionCompleted) t.completedAt = at;
    else if (type === DomainEventType.SessionFailed) t.failed = body.data.error ?? 'FAILED';
    this.times.set(id, t);
    if (t.completedAt !== undefined || t.failed) {
      for (const w of this.waiters) {
        w.ids.delete(id);
        if (w.ids.size === 0) w.resolve();
      }
      this.waiters = this.waiters.filter((w) => w.ids.size > 0);
    }
  }

  /** Resolves when every session is COMPLETED or FAILED; rejects after the deadline naming how many are missing. */
  settled(ids: string[], timeoutMs: number): Promise<void> {
    const pending = new Set(ids.filter((id) => !this.isSettled(id)));
    if (pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${pending.size} of ${ids.length} sessions not settled after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ ids: pending, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private isSettled(id: string): boolean {
    const t = this.times.get(id);
    return t !== undefined && (t.completedAt !== undefined || t.failed !== undefined);
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }
}
