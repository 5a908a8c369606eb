import { CreateRequestContext, MikroORM } from '@mikro-orm/postgresql';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, StorageEventsConfig } from '@app/config';
import type { PgSqlDatabase, SqlListener } from '@app/database';
import { ClaimedDelivery, DeliveryAttemptOutcome, DeliverWebhookUseCase, SQL_DATABASE, WEBHOOK_DELIVERY_CHANNEL } from '@app/domain';
import { WebhookMetrics } from '@app/webhooks';

/**
 * Keeps up to WEBHOOK_CONCURRENCY attempts in flight: claims due deliveries (the claim enforces
 * WEBHOOK_ENDPOINT_CONCURRENCY per subscription over every process, so one slow receiver holds at most that
 * many slots) whenever a slot frees, new deliveries are recorded (a NOTIFY on WEBHOOK_DELIVERY_CHANNEL from
 * whichever process's outbox relay recorded them), or every WEBHOOK_POLL_INTERVAL_MS for retries that came due.
 * On shutdown it stops claiming and lets attempts in flight finish; a killed process's attempts are taken over
 * by another once their lease ends.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('WebhookDispatcher');
  private readonly inFlight = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private filling = false;
  private again = false;
  private stopping = false;
  private listener?: SqlListener;

  constructor(
    // Used by @CreateRequestContext: every claim and every attempt gets its own EntityManager context.
    private readonly orm: MikroORM,
    private readonly deliver: DeliverWebhookUseCase,
    @Inject(APP_CONFIG) private readonly config: StorageEventsConfig,
    @Inject(SQL_DATABASE) private readonly db: PgSqlDatabase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.timer = setInterval(() => this.kick(), this.config.webhooks.pollMs);
    this.listener = await this.db
      .listen(WEBHOOK_DELIVERY_CHANNEL, () => this.kick())
      .catch((e: unknown) => {
        this.logger.warn(`cannot LISTEN for new deliveries (the timer stays): ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.listener?.stop();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Look for due deliveries now (coalesced: one look at a time, another right after if asked meanwhile). */
  kick(): void {
    if (this.stopping) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = true;
    void this.fill().finally(() => {
      this.filling = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async fill(): Promise<void> {
    const free = this.config.webhooks.concurrency - this.inFlight.size;
    if (free <= 0) return;
    try {
      for (const claimed of await this.claim(free)) this.track(this.run(claimed));
    } catch (e) {
      this.logger.warn({ msg: 'could not claim webhook deliveries; the next look retries', err: e instanceof Error ? e.message : String(e) });
    }
  }

  @CreateRequestContext()
  private claim(capacity: number): Promise<ClaimedDelivery[]> {
    return this.deliver.claim(capacity);
  }

  @CreateRequestContext()
  private attempt(claimed: ClaimedDelivery): Promise<DeliveryAttemptOutcome> {
    return this.deliver.attempt(claimed);
  }

  private async run(claimed: ClaimedDelivery): Promise<void> {
    try {
      const { outcome, result } = await this.attempt(claimed);
      WebhookMetrics.deliveries.inc({ outcome });
      WebhookMetrics.attemptDuration.observe({ outcome }, result.latencyMs / 1000);
      const status = result.kind === 'response' ? result.status : null;
      const log = {
        msg: 'webhook attempt',
        deliveryId: claimed.id,
        subscriptionId: claimed.subscriptionId,
        webhookId: claimed.eventId,
        type: claimed.eventType,
        attempt: claimed.attempts,
        outcome,
        status,
        latencyMs: result.latencyMs,
        ...(result.kind === 'error' ? { error: result.error } : {}),
      };
      if (outcome === 'delivered') this.logger.log(log);
      else this.logger.warn(log);
    } catch (e) {
      // Recording failed (database down): the delivery stays SENDING and is taken over after its lease.
      WebhookMetrics.deliveries.inc({ outcome: 'error' });
      this.logger.error({
        msg: 'webhook attempt not recorded; it will be retried after its lease',
        deliveryId: claimed.id,
        err: e instanceof Error ? e.message : String(e),
      });
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.kick();
    });
  }
}
