import { MikroORM } from '@mikro-orm/postgresql';
import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { OutboxTrigger } from '@app/domain';
import { AmqpConnection } from './amqp-connection';

const BATCH = 200;
const POLL_MS = 1_000;

interface OutboxRow {
  id: string;
  exchange: string;
  routing_key: string;
  message_id: string;
  payload: unknown;
  priority: number | null;
  headers: Record<string, string> | null;
  created_at: Date;
}

/**
 * Publishes outbox rows: locks a batch (SKIP LOCKED, so several processes share the work), publishes each
 * with publisher confirms, deletes the batch in the same transaction. A crash between confirm and commit
 * republishes: consumers deduplicate by message id and are idempotent anyway.
 */
export class OutboxRelay implements OutboxTrigger, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly orm: MikroORM,
    private readonly amqp: AmqpConnection,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    // One last batch for what the shutdown itself wrote (released jobs); what is left, another process publishes.
    if (!this.stopped) await this.publishBatch().catch(() => undefined);
    this.stopped = true;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => (this.running = null));
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        if ((await this.publishBatch()) === BATCH) this.again = true;
      } while (this.again && !this.stopped);
    } catch (e) {
      this.logger.warn(`outbox publish failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Publishes one batch; returns how many rows it published. */
  async publishBatch(): Promise<number> {
    if (!this.amqp.isConnected()) return 0;
    const em = this.orm.em.fork();
    return em.transactional(async (tx) => {
      const rows: OutboxRow[] = await tx.execute(
        'select id, exchange, routing_key, message_id, payload, priority, headers, created_at from outbox_message order by id limit ? for update skip locked',
        [BATCH],
      );
      if (rows.length === 0) return 0;
      await Promise.all(
        rows.map((r) =>
          this.amqp.publish(r.exchange, r.routing_key, Buffer.from(JSON.stringify(r.payload)), {
            messageId: r.message_id,
            priority: r.priority ?? undefined,
            headers: r.headers ?? undefined,
            timestamp: Math.floor(new Date(r.created_at).getTime() / 1000),
          }),
        ),
      );
      await tx.execute(`delete from outbox_message where id in (${rows.map(() => '?').join(',')})`, rows.map((r) => r.id));
      return rows.length;
    });
  }
}
