import { Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { CommittedOutboxRow, OutboxTrigger, RecordedEvent } from '@app/domain';
import { OUTBOX_HOLD_MS, toRecordedEvent, WebhookDeliveries } from '@app/domain';
import { Metrics } from '@app/observability';
import type { PgSqlDatabase, SqlListener } from '@app/database';
import { AmqpConnection } from './amqp-connection';

export interface OutboxRelaySettings {
  /** Rows one poll takes. */
  batch: number;
  /** Fallback poll period: rows nobody holds (their writer died, or gave them back) when no notification came. */
  pollMs: number;
  /** Published rows are deleted in batches: at most this long after their confirm (or sooner, when many). */
  deleteAfterMs: number;
  /** A row the connected broker refused is tried again after this long. */
  retryAfterMs: number;
  /**
   * The domain events exchange: rows published there are domain events, recorded as webhook deliveries by the
   * statement that deletes them (none recorded without it).
   */
  domainEventsExchange?: string;
}

export const DEFAULT_OUTBOX_RELAY_SETTINGS: OutboxRelaySettings = { batch: 500, pollMs: 2_000, deleteAfterMs: 200, retryAfterMs: 5_000 };

/** WARNING: the Postgres channel relays wake each other on; every version of every app listens to it. */
export const OUTBOX_CHANNEL = 'outbox_message';

const DELETE_BATCH = 1_000;

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

function correlationIdOf(payload: unknown): string | undefined {
  const id = (payload as { correlationId?: unknown } | null)?.correlationId;
  return typeof id === 'string' ? id : undefined;
}

const byId = (a: { id: string }, b: { id: string }) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);

/**
 * Publishes outbox rows with publisher confirms, then deletes them.
 *
 * - Rows a transaction of this process has just committed arrive in memory (`committed`): published at once,
 *   without reading them back. Their writer holds them for a while (`claimed_until`), so no other relay races it.
 * - Rows nobody holds (written through MikroORM, given back by a writer that could not publish, or left by a
 *   writer that died once their hold ran out) are claimed by a poll: on `kick`, on a Postgres notification
 *   (LISTEN/NOTIFY: a relay that gives rows back wakes the others), and on a timer as the last fallback.
 * - No transaction stays open while waiting for the broker; published rows are deleted in batches; a row whose
 *   publish failed is given back alone (the others of its batch are not published again).
 *
 * A crash between a confirm and the delete publishes again: consumers deduplicate by message id and are
 * idempotent anyway.
 *
 * Outgoing webhooks are recorded here too: the statement that deletes published rows also records the domain
 * events among them, body exactly as published, as a delivery per subscription that wants them
 * (`WebhookDeliveries.retirePublished`). No broker message, consumer or statement of its own per event, and
 * nothing at all written for events nobody subscribed to.
 */
export class OutboxRelay implements OutboxTrigger, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  private readonly publishing = new Set<Promise<void>>();
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private listener?: SqlListener;
  private published: string[] = [];
  /** The domain events among `published`, as webhook deliveries record them. */
  private publishedEvents: RecordedEvent[] = [];
  private readonly deliveries = new WebhookDeliveries();
  private deleteTimer?: NodeJS.Timeout;
  private deleting: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: PgSqlDatabase,
    private readonly amqp: AmqpConnection,
    private readonly settings: OutboxRelaySettings = DEFAULT_OUTBOX_RELAY_SETTINGS,
  ) {
    // The last thing before the connection closes: what this process wrote (released jobs) is published by it.
    amqp.onDrain(() => this.flush());
  }

  async onApplicationBootstrap(): Promise<void> {
    this.timer = setInterval(() => this.kick(), this.settings.pollMs);
    this.listener = await this.db
      .listen(OUTBOX_CHANNEL, () => this.kick())
      .catch((e: unknown) => {
        this.logger.warn(`cannot LISTEN for outbox notifications (the timer stays): ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
    this.kick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.listener?.stop();
  }

  committed(rows: CommittedOutboxRow[]): void {
    if (this.stopped || rows.length === 0) return;
    this.track(
      this.publish(
        [...rows].sort(byId).map((r) => ({
          id: r.id,
          exchange: r.exchange,
          routing_key: r.routingKey,
          message_id: r.messageId,
          payload: r.payload,
          priority: r.priority,
          headers: r.headers,
          created_at: r.createdAt,
        })),
      ),
    );
  }

  kick(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.poll().finally(() => {
      this.polling = null;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.kick();
      }
    });
  }

  /** Waits for every publish in flight and deletes what was published. */
  async flush(): Promise<void> {
    while (this.publishing.size > 0 || this.polling) await Promise.allSettled([...this.publishing, this.polling]);
    await this.deleteNow();
  }

  private track(p: Promise<void>): void {
    this.publishing.add(p);
    void p.finally(() => this.publishing.delete(p));
  }

  /** Takes rows nobody holds, as many as a batch, until none are left. */
  private async poll(): Promise<void> {
    try {
      for (;;) {
        if (!this.amqp.isConnected()) return;
        const rows = await this.db.query<OutboxRow>(
          `update outbox_message o set claimed_until = now() + $2 * interval '1 millisecond'
            where o.id in (select id from outbox_message where claimed_until is null or claimed_until < now() order by id limit $1 for update skip locked)
            returning o.id, o.exchange, o.routing_key, o.message_id, o.payload, o.priority, o.headers, o.created_at`,
          [this.settings.batch, OUTBOX_HOLD_MS],
        );
        if (rows.length === 0) return;
        await this.publish(rows.map((r) => ({ ...r, id: String(r.id) })).sort(byId));
        if (rows.length < this.settings.batch) return;
      }
    } catch (e) {
      this.logger.warn(`outbox poll failed, will retry: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Publishes held rows (in id order, confirms awaited together); the published are deleted, the others given back. */
  private async publish(rows: OutboxRow[]): Promise<void> {
    const bodies = rows.map((r) => JSON.stringify(r.payload));
    const results = await Promise.allSettled(
      rows.map((r, i) =>
        this.amqp.publish(r.exchange, r.routing_key, Buffer.from(bodies[i]), {
          messageId: r.message_id,
          priority: r.priority ?? undefined,
          headers: r.headers ?? undefined,
          // The upload's correlation id travels as the AMQP correlation-id property too.
          correlationId: correlationIdOf(r.payload),
          timestamp: Math.floor(new Date(r.created_at).getTime() / 1000),
        }),
      ),
    );
    const failed: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        failed.push(rows[i].id);
        return;
      }
      this.published.push(rows[i].id);
      if (rows[i].exchange === this.settings.domainEventsExchange) this.recordAsWebhookEvent(rows[i], bodies[i]);
    });
    this.scheduleDelete();
    if (failed.length > 0) {
      const reason = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      this.logger.warn(
        `${failed.length} of ${rows.length} outbox messages not published, given back: ${reason.reason instanceof Error ? reason.reason.message : String(reason.reason)}`,
      );
      await this.giveBack(failed);
    }
  }

  /**
   * Rows this relay could not publish. Without a broker connection, they become anyone's at once and the relays
   * of other processes are woken; refused by a connected broker (a nack, a confirm timeout), they wait a while
   * before anyone tries again.
   */
  private async giveBack(ids: string[]): Promise<void> {
    const retryInMs = this.amqp.isConnected() ? this.settings.retryAfterMs : 0;
    await this.db
      .query(
        `with released as (
           update outbox_message set claimed_until = case when $3::int > 0 then now() + $3 * interval '1 millisecond' end
            where id = any($1::bigint[]) returning 1
         )
         select pg_notify($2, count(*)::text) from released where $3::int = 0`,
        [ids, OUTBOX_CHANNEL, retryInMs],
      )
      .catch((e: unknown) => this.logger.warn(`could not give back outbox rows (their hold runs out instead): ${e instanceof Error ? e.message : String(e)}`));
  }

  private recordAsWebhookEvent(row: OutboxRow, body: string): void {
    try {
      this.publishedEvents.push(toRecordedEvent(row.payload, body));
    } catch (e) {
      // The domain writes every envelope, so this is a bug, not input: said loudly, and the row still retires.
      this.logger.error(
        `outbox row ${row.id} on the domain events exchange is no domain event, no webhook recorded: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  private scheduleDelete(): void {
    if (this.published.length >= DELETE_BATCH) {
      void this.deleteNow();
      return;
    }
    this.deleteTimer ??= setTimeout(() => void this.deleteNow(), this.settings.deleteAfterMs);
  }

  private deleteNow(): Promise<void> {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    const ids = this.published.splice(0);
    const events = this.publishedEvents.splice(0);
    if (ids.length === 0) return this.deleting;
    this.deleting = this.deleting.then(() =>
      this.deliveries
        .retirePublished(this.db, ids, events)
        .then((recorded) => {
          if (recorded > 0) Metrics.webhookDeliveriesRecorded.inc(recorded);
        })
        .catch((e: unknown) => {
          // Published but neither deleted nor recorded as webhooks: published and retired again once their hold
          // runs out (consumers deduplicate; a delivery is recorded once per subscription and event).
          this.logger.warn(`could not delete ${ids.length} published outbox rows: ${e instanceof Error ? e.message : String(e)}`);
        }),
    );
    return this.deleting;
  }
}
