import { Counter, Histogram, register } from 'prom-client';

/**
 * The platform's Prometheus metrics, in prom-client's default registry (one per process), served at
 * /metrics by MetricsController. Label values are bounded sets (routes as templates, outcomes as enums),
 * never ids.
 * WARNING: dashboards and alerts query these names; renaming one breaks them.
 */
export const Metrics = Object.freeze({
  httpRequestDuration: new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  storageEventsReceived: new Counter({
    name: 'storage_events_received_total',
    help: 'Storage notification records received, by transport (amqp, http)',
    labelNames: ['transport'] as const,
  }),
  storageEventsOutcomes: new Counter({
    name: 'storage_events_outcomes_total',
    help: 'Storage events by outcome: the StorageEventOutcome of applying one (uploaded, duplicate, ...), or dead-lettered',
    labelNames: ['transport', 'outcome'] as const,
  }),
  messagesConsumed: new Counter({
    name: 'amqp_messages_consumed_total',
    help: 'Messages taken from a queue, by queue and disposition (acked, dead-lettered, retried, requeued)',
    labelNames: ['queue', 'disposition'] as const,
  }),
  jobsProcessed: new Counter({
    name: 'jobs_processed_total',
    help: 'Job messages handled, by job type and outcome (completed, failed, retry-scheduled, cancelled, duplicate, running-elsewhere, gone, error)',
    labelNames: ['type', 'outcome'] as const,
  }),
  webhookDeliveriesRecorded: new Counter({
    name: 'webhook_deliveries_recorded_total',
    help: 'Webhook deliveries the outbox relay recorded while retiring the domain events it published (one per event and interested subscription)',
  }),
  jobDuration: new Histogram({
    name: 'job_duration_seconds',
    help: 'Time to handle one job message (claim, run, record), by job type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  }),
});

export { register as metricsRegistry };
