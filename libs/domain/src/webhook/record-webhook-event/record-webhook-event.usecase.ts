import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainEventType } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { WebhookDeliveries } from '../webhook-deliveries';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPES: readonly string[] = Object.values(DomainEventType);

/** What fan-out needs of a domain event envelope; anything else is a malformed message. */
export function readDomainEvent(body: unknown): { id: string; type: DomainEventType; userId: string | null } {
  const e = body as { id?: unknown; type?: unknown; version?: unknown; data?: { userId?: unknown } } | null;
  const malformed = (why: string) => new DomainError(DomainErrorCode.MALFORMED_MESSAGE, `not a domain event: ${why}`);
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw malformed('not a JSON object');
  if (typeof e.id !== 'string' || !UUID.test(e.id)) throw malformed('id must be a uuid');
  if (typeof e.type !== 'string' || !TYPES.includes(e.type)) throw malformed(`unknown type ${JSON.stringify(e.type)}`);
  if (e.version !== 1) throw malformed('version must be 1');
  if (!e.data || typeof e.data !== 'object') throw malformed('no data');
  const userId = e.data.userId;
  if (userId !== null && typeof userId !== 'string') throw malformed('data.userId must be a string or null');
  return { id: e.id, type: e.type as DomainEventType, userId };
}

/**
 * A domain event taken from the webhooks queue becomes one delivery per subscription that wants it
 * (Postgres is the delivery's source of truth from then on). Idempotent: a redelivered event adds nothing.
 * `raw` is the message body, kept byte for byte as the body every attempt sends and signs.
 */
@Injectable()
export class RecordWebhookEventUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly deliveries: WebhookDeliveries,
  ) {}

  /** How many deliveries the event created. */
  async execute(body: unknown, raw: string): Promise<number> {
    const event = readDomainEvent(body);
    return this.deliveries.recordEvent(this.em, { ...event, payload: raw });
  }
}
