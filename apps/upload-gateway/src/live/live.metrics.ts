import { Counter, Gauge, register } from 'prom-client';

/**
 * Live streams' metrics (gateway). Labels are bounded: stream kinds, routing keys, fixed reasons.
 * WARNING: dashboards and alerts query these names; renaming one breaks them.
 */
export const LiveMetrics = Object.freeze({
  eventsSent: new Counter({
    name: 'sse_events_sent_total',
    help: 'Server-sent events written to live streams, by event (snapshot or the routing key); one per stream',
    labelNames: ['event'] as const,
  }),
  streamsOpened: new Counter({
    name: 'sse_streams_opened_total',
    help: 'Live streams opened, by kind (session, group)',
    labelNames: ['kind'] as const,
  }),
  streamsClosed: new Counter({
    name: 'sse_streams_closed_total',
    help: 'Live streams closed, by reason: final (after the final event), client (the reader left), slow (too much unread), resubscribe (the broker subscription was lost), shutdown',
    labelNames: ['reason'] as const,
  }),
  streamsRefused: new Counter({
    name: 'sse_streams_refused_total',
    help: 'Live streams refused before they opened, by reason: replica_limit, caller_limit (429), unavailable (503: no broker subscription)',
    labelNames: ['reason'] as const,
  }),
  eventsReceived: new Counter({
    name: 'sse_live_events_received_total',
    help: 'Domain events this replica received for its live streams (none while it has no streams: it holds no queue then)',
  }),
  eventsIgnored: new Counter({
    name: 'sse_events_ignored_total',
    help: 'Messages of the live subscription that were not domain events (not JSON, no data): dropped',
  }),
});

/** Gauges read from the hub and the feed at scrape time. */
export function registerLiveGauges(read: { openStreams: () => Record<'session' | 'group', number>; subscribed: () => boolean }): Gauge[] {
  for (const name of ['sse_open_streams', 'sse_live_subscription_active']) register.removeSingleMetric(name);
  return [
    new Gauge({
      name: 'sse_open_streams',
      help: 'Live streams open on this replica, by kind',
      labelNames: ['kind'] as const,
      collect() {
        for (const [kind, n] of Object.entries(read.openStreams())) this.set({ kind }, n);
      },
    }),
    new Gauge({
      name: 'sse_live_subscription_active',
      help: '1 while this replica holds its queue on the domain events exchange (only while it has streams, and a little after)',
      collect() {
        this.set(read.subscribed() ? 1 : 0);
      },
    }),
  ];
}
