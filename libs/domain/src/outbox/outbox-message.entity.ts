import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * A message to publish, written in the same transaction as the state change that causes it
 * (transactional outbox). The relay publishes it with publisher confirms, then deletes the row.
 */
@Entity({ tableName: 'outbox_message' })
export class OutboxMessage {
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Property({ type: 'text' })
  exchange: string;

  @Property({ type: 'text' })
  routingKey: string;

  /** AMQP message-id; consumers deduplicate by it. */
  @Property({ type: 'uuid' })
  messageId: string;

  @Property({ type: 'jsonb' })
  payload: unknown;

  @Property({ type: 'smallint', nullable: true })
  priority: number | null = null;

  @Property({ type: 'jsonb', nullable: true })
  headers: Record<string, string> | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  /**
   * Held by the process that wrote the row until then: it publishes the row itself right after its commit.
   * Other relays take rows nobody holds (null, or the holder died and the time passed).
   */
  @Property({ type: 'timestamptz', nullable: true })
  claimedUntil: Date | null = null;

  constructor(props: {
    exchange: string;
    routingKey: string;
    messageId: string;
    payload: unknown;
    priority?: number | null;
    headers?: Record<string, string> | null;
  }) {
    this.exchange = props.exchange;
    this.routingKey = props.routingKey;
    this.messageId = props.messageId;
    this.payload = props.payload;
    this.priority = props.priority ?? null;
    this.headers = props.headers ?? null;
  }
}
