import { MikroORM } from '@mikro-orm/postgresql';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import { WebhookDeliveries } from '@app/domain';
import { cached } from '@app/messaging';

/**
 * Webhook delivery metrics (prom-client's default registry, served at /metrics of the delivering app).
 * WARNING: dashboards and alerts query these names; renaming one breaks them.
 */
export const WebhookMetrics = Object.freeze({
  deliveries: new Counter({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, retry, failed, gone, disabled, superseded)',
    labelNames: ['outcome'] as const,
  }),
  attemptDuration: new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: "Time of one webhook attempt, from connect to the receiver's answer, by outcome",
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
  }),
  eventsRecorded: new Counter({
    name: 'webhook_events_recorded_total',
    help: 'Domain events taken from the webhooks queue, by whether any subscription wanted them (matched, unmatched)',
    labelNames: ['result'] as const,
  }),
});

/** Deliveries waiting or in flight (cached: scrapes come often, from every replica). */
export function registerWebhookBacklogGauge(orm: MikroORM): Gauge {
  const deliveries = new WebhookDeliveries();
  const backlog = cached(() => deliveries.backlog(orm.em.fork()));
  register.removeSingleMetric('webhook_deliveries_backlog');
  return new Gauge({
    name: 'webhook_deliveries_backlog',
    help: 'Webhook deliveries waiting for an attempt or in flight',
    async collect() {
      this.set(await backlog().catch(() => Number.NaN));
    },
  });
}
