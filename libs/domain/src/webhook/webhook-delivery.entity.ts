import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { WebhookDeliveryStatus } from './webhook-delivery-status';
import { WebhookSubscription } from './webhook-subscription.entity';

/**
 * One domain event for one subscription, durable until delivered or given up. Created once per
 * (subscription, event) whatever the redeliveries of the event; the event id is the `webhook-id` of
 * every attempt and replay. Status moves only by compare-and-set (WebhookDeliveries).
 */
@Entity({ tableName: 'webhook_delivery' })
@Unique({ properties: ['subscriptionId', 'eventId'] })
@Index({ properties: ['subscriptionId', 'createdAt', 'id'] })
export class WebhookDelivery {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => WebhookSubscription, { mapToPk: true, fieldName: 'subscription_id', deleteRule: 'cascade' })
  subscriptionId: string;

  /** The event's `id`: sent as `webhook-id`. */
  @Property({ type: 'uuid' })
  eventId: string;

  @Property({ type: 'text' })
  eventType: string;

  /** The body, byte for byte as published on the domain events exchange (and as signed). */
  @Property({ type: 'text', lazy: true })
  payload: string;

  @Enum({ items: () => WebhookDeliveryStatus })
  status: WebhookDeliveryStatus = WebhookDeliveryStatus.PENDING;

  /** Attempts made, ever. */
  @Property({ type: 'integer' })
  attempts: number = 0;

  /** Attempts since the delivery was created or last replayed: the position in the retry schedule. */
  @Property({ type: 'integer' })
  runAttempts: number = 0;

  /** PENDING: when the next attempt is due; SENDING: when the attempt's lease ends; null once final. */
  @Property({ type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null = new Date();

  @Property({ type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null = null;

  @Property({ type: 'smallint', nullable: true })
  lastStatusCode: number | null = null;

  @Property({ type: 'integer', nullable: true })
  lastLatencyMs: number | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  deliveredAt: Date | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();

  constructor(props: { subscriptionId: string; eventId: string; eventType: string; payload: string }) {
    this.subscriptionId = props.subscriptionId;
    this.eventId = props.eventId;
    this.eventType = props.eventType;
    this.payload = props.payload;
  }
}
