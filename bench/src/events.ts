import amqp, { ChannelModel } from 'amqplib';
import { DomainEventType } from '@app/contracts';
import { benchEnv } from './env';
import { BenchFailure } from './report';

export interface SessionTimes {
  uploadedAt?: number;
  completedAt?: number;
  /** When the session.completed (or .failed) event reached this listener (its clock). */
  heardAt?: number;
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
