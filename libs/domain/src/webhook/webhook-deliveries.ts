import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { sourcesOf } from '../lifecycle/transitions';
import type { Sql } from '../ports/sql.port';
import { WEBHOOK_DELIVERY_TRANSITIONS, WebhookDeliveryStatus } from './webhook-delivery-status';

const D = WebhookDeliveryStatus;
/** `status in (...)` of a compare-and-set to `to`, from the lifecycle table (optionally narrowed). */
function from(to: WebhookDeliveryStatus, only?: WebhookDeliveryStatus[]): string {
  const sources = sourcesOf(WEBHOOK_DELIVERY_TRANSITIONS, to).filter((s) => !only || only.includes(s));
  if (only && sources.length !== only.length) throw new Error(`Illegal delivery transition ${only.join('|')} → ${to}`);
  return sources.map((s) => `'${s}'`).join(', ');
}

/** A domain event as the webhooks queue delivered it: `payload` is its body byte for byte (what every attempt sends and signs). */
export interface RecordedEvent {
  id: string;
  type: string;
  userId: string | null;
  payload: string;
}

/** A delivery taken for one attempt, with what the attempt needs of its subscription. */
export interface ClaimedDelivery {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  payload: string;
  /** Attempts ever, this one included: the compare-and-set token of the attempt. */
  attempts: number;
  /** Attempts since creation or the last replay, this one included. */
  runAttempts: number;
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
}

export interface AttemptRecord {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

interface ClaimedRow {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  run_attempts: number;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
}

/** WARNING: the Postgres channel on which new deliveries wake the delivering processes; every version listens to it. */
export const WEBHOOK_DELIVERY_CHANNEL = 'webhook_delivery';

/** The same event twice (a redelivery, or a row published twice) is one event. */
function distinct(events: readonly RecordedEvent[]): RecordedEvent[] {
  return [...new Map(events.map((e) => [e.id, e])).values()];
}

/** The four arrays recordDeliveries reads (ids, types, bodies, owners). */
function eventColumns(events: readonly RecordedEvent[]): unknown[] {
  return [events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.payload), events.map((e) => e.userId)];
}

/**
 * recordDeliveries: one row per (enabled subscription that wants it, event), the events given as four arrays
 * from parameter $first on: for each event its owner's subscriptions (none for an anonymous upload) and every
 * `all` subscription, whose events name the type or `*`. A redelivered event adds nothing. A subscription
 * disabled meanwhile gets nothing (the share lock waits for its disabling to commit). With no subscription
 * the statement reads an empty index and writes nothing.
 */
function recordDeliveries(first: number): string {
  const [ids, types, payloads, users] = [first, first + 1, first + 2, first + 3].map((n) => `$${n}`);
  return `insert into webhook_delivery (id, subscription_id, event_id, event_type, payload, status, attempts, run_attempts, next_attempt_at, created_at, updated_at)
       -- Milliseconds, like every timestamp JavaScript writes: keyset pages compare created_at with a cursor in ms.
       select gen_random_uuid(), s.id, e.id, e.type, e.payload, '${D.PENDING}', 0, 0, now(), date_trunc('milliseconds', now()), now()
         from unnest(${ids}::uuid[], ${types}::text[], ${payloads}::text[], ${users}::text[]) as e(id, type, payload, user_id)
         join webhook_subscription s
           on s.enabled
          and (s.scope = 'all' or s.user_id = e.user_id)
          and (s.events @> array[e.type]::text[] or s.events @> array['*']::text[])
          -- Waits for a subscription being disabled to commit, then skips it: no delivery slips in after its waiting ones were failed.
          for share of s
       on conflict (subscription_id, event_id) do nothing`;
}

/**
 * Every SQL statement of webhook deliveries, in one place. Status writes are compare-and-set from the
 * statuses WEBHOOK_DELIVERY_TRANSITIONS allows; an attempt's result is written only if the delivery is
 * still the one this attempt claimed (status SENDING and the same attempt number).
 */
@Injectable()
export class WebhookDeliveries {
  /**
   * Records events for every enabled subscription that wants them, in one statement (one transaction, whatever
   * the number of events): see recordDeliveries. Returns how many deliveries each event id created (absent: none).
   * Used for events taken from the `webhooks.events` queue (published there by earlier versions).
   */
  async recordEvents(sql: Sql, events: readonly RecordedEvent[]): Promise<Map<string, number>> {
    const created = new Map<string, number>();
    events = distinct(events);
    if (events.length === 0) return created;
    const rows = await sql.query<{ event_id: string }>(`${recordDeliveries(1)} returning event_id`, eventColumns(events));
    for (const r of rows) created.set(r.event_id, (created.get(r.event_id) ?? 0) + 1);
    return created;
  }

  /**
   * The outbox relay's last word on rows it has published: deletes them and, in the same statement, records
   * the domain events among them (their bodies exactly as published) as deliveries for every subscription that
   * wants them (recordDeliveries), waking the delivering processes (NOTIFY on WEBHOOK_DELIVERY_CHANNEL) when it
   * created any. The relay publishes only what its writer has committed, so the recording reads every
   * subscription committed before the event was: a subscription gets every event committed after its own
   * creation (or enabling) committed. With no subscription at all, the recording joins an empty table: events
   * nobody subscribed to cost no message, no consumer and no statement of their own. Returns the deliveries created.
   */
  async retirePublished(sql: Sql, outboxIds: readonly string[], events: readonly RecordedEvent[]): Promise<number> {
    events = distinct(events);
    if (events.length === 0) {
      if (outboxIds.length > 0) await sql.query('delete from outbox_message where id = any($1::bigint[])', [outboxIds]);
      return 0;
    }
    const [row] = await sql.query<{ created: string }>(
      `with retired as (delete from outbox_message where id = any($1::bigint[])),
            recorded as (${recordDeliveries(2)} returning 1)
       select count(*) as created, case when count(*) > 0 then pg_notify($6, count(*)::text) end as woken from recorded`,
      [outboxIds, ...eventColumns(events), WEBHOOK_DELIVERY_CHANNEL],
    );
    return Number(row.created);
  }

  /**
   * Claims up to `capacity` deliveries that are due (PENDING whose time has come, or SENDING whose lease
   * expired), at most `endpointConcurrency` in flight per subscription over every process: the
   * subscription row is locked while its in-flight attempts are counted, so two claimers never both take
   * its last slot. Each claimed delivery is SENDING with a lease of `leaseMs`.
   */
  async claimDue(em: EntityManager, opts: { capacity: number; endpointConcurrency: number; leaseMs: number }): Promise<ClaimedDelivery[]> {
    if (opts.capacity <= 0) return [];
    // Two statements in one transaction: the first locks the subscriptions, the second counts their attempts in
    // flight. In one statement the count would read the statement's snapshot, taken before the lock was granted:
    // a claimer that waited for (or came right after) another's commit would not see that claimer's attempts.
    const rows = await em.transactional(async (tx): Promise<ClaimedRow[]> => {
      const locked: { id: string }[] = await tx.execute(
        `select s.id
           from webhook_subscription s
          where s.enabled
            and s.id in (select distinct d.subscription_id from webhook_delivery d
                          where d.status in (${from(D.SENDING)}) and d.next_attempt_at <= now() limit 200)
            for no key update of s skip locked`,
      );
      if (locked.length === 0) return [];
      return tx.execute(
        `with subs as (
           select s.id,
                  ? - (select count(*) from webhook_delivery b
                        where b.subscription_id = s.id and b.status = '${D.SENDING}' and b.next_attempt_at > now()) as free
             from webhook_subscription s
            where s.id = any(?::uuid[])
         ), picked as (
           select p.id
             from subs
             cross join lateral (
               select d.id from webhook_delivery d
                where d.subscription_id = subs.id and d.status in (${from(D.SENDING)}) and d.next_attempt_at <= now()
                order by d.next_attempt_at, d.id
                limit greatest(subs.free, 0)
                  for update of d skip locked
             ) p
            limit ?
         )
         update webhook_delivery d
            set status = '${D.SENDING}', attempts = d.attempts + 1, run_attempts = d.run_attempts + 1,
                next_attempt_at = now() + make_interval(secs => ?), last_attempt_at = now(), updated_at = now()
           from picked, webhook_subscription s
          where d.id = picked.id and s.id = d.subscription_id
         returning d.id, d.subscription_id, d.event_id, d.event_type, d.payload, d.attempts, d.run_attempts,
                   s.url, s.secret, s.previous_secret, s.previous_secret_expires_at, s.failing_since`,
        [opts.endpointConcurrency, `{${locked.map((l) => l.id).join(',')}}`, opts.capacity, opts.leaseMs / 1000],
      );
    });
    return rows.map((r) => ({
      id: r.id,
      subscriptionId: r.subscription_id,
      eventId: r.event_id,
      eventType: r.event_type,
      payload: r.payload,
      attempts: r.attempts,
      runAttempts: r.run_attempts,
      url: r.url,
      secret: r.secret,
      previousSecret: r.previous_secret,
      previousSecretExpiresAt: r.previous_secret_expires_at ? new Date(r.previous_secret_expires_at) : null,
      failingSince: r.failing_since ? new Date(r.failing_since) : null,
    }));
  }

  /**
   * Writes the result of the attempt `claimed` made: DELIVERED, PENDING again (a retry at `nextAttemptAt`)
   * or FAILED. False when the delivery is no longer that attempt's (its lease expired and another took it).
   */
  async recordAttempt(
    em: EntityManager,
    claimed: Pick<ClaimedDelivery, 'id' | 'attempts'>,
    to: WebhookDeliveryStatus.DELIVERED | WebhookDeliveryStatus.PENDING | WebhookDeliveryStatus.FAILED,
    attempt: AttemptRecord,
    nextAttemptAt: Date | null,
  ): Promise<boolean> {
    const rows: unknown[] = await em.execute(
      `update webhook_delivery
          set status = ?, next_attempt_at = ?, last_status_code = ?, last_latency_ms = ?, last_error = ?,
              delivered_at = case when ? = '${D.DELIVERED}' then now() else delivered_at end, updated_at = now()
        where id = ? and status in (${from(to, [D.SENDING])}) and attempts = ?
       returning id`,
      [to, to === D.PENDING ? nextAttemptAt : null, attempt.statusCode, Math.round(attempt.latencyMs), attempt.error, to, claimed.id, claimed.attempts],
    );
    return rows.length === 1;
  }

  /** A disabled subscription's waiting deliveries fail (replayable once it is enabled again). */
  async failWaiting(em: EntityManager, subscriptionId: string, reason: string): Promise<number> {
    const rows: unknown[] = await em.execute(
      `update webhook_delivery set status = '${D.FAILED}', next_attempt_at = null, last_error = ?, updated_at = now()
        where subscription_id = ? and status in (${from(D.FAILED, [D.PENDING])})
       returning id`,
      [reason, subscriptionId],
    );
    return rows.length;
  }

  /**
   * A replay: the delivery is due now with a fresh run of the retry schedule, same event and webhook-id.
   * False while an attempt is in flight (SENDING).
   */
  async replay(em: EntityManager, id: string): Promise<boolean> {
    const rows: unknown[] = await em.execute(
      `update webhook_delivery set status = '${D.PENDING}', next_attempt_at = now(), run_attempts = 0, updated_at = now()
        where id = ? and status in (${from(D.PENDING, [D.PENDING, D.DELIVERED, D.FAILED])})
       returning id`,
      [id],
    );
    return rows.length === 1;
  }

  /** Deliveries waiting or in flight (the backlog gauge). */
  async backlog(em: EntityManager): Promise<number> {
    const [row] = await em.execute<{ n: string }[]>(`select count(*) as n from webhook_delivery where status in ('${D.PENDING}', '${D.SENDING}')`);
    return Number(row.n);
  }
}
