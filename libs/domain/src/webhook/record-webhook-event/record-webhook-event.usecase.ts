import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType } from '@app/contracts';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { SQL_DATABASE, SqlDatabase } from '../../ports/sql.port';
import { RecordedEvent, WebhookDeliveries } from '../webhook-deliveries';

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

/** A message of the webhooks queue as a delivery records it: its envelope read, `raw` its body byte for byte (what every attempt sends and signs). */
export function toRecordedEvent(body: unknown, raw: string): RecordedEvent {
  return { ...readDomainEvent(body), payload: raw };
}

/**
 * Domain events taken from the webhooks queue become one delivery per subscription that wants them (Postgres is
 * the delivery's source of truth from then on), many events in one statement. Idempotent: a redelivered event
 * adds nothing.
 */
@Injectable()
export class RecordWebhookEventUseCase {
  constructor(
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly deliveries: WebhookDeliveries,
  ) {}

  /** How many deliveries each event created, in order (a repeated event counts once, at its first place). */
  async execute(events: readonly RecordedEvent[]): Promise<number[]> {
    const created = await this.deliveries.recordEvents(this.db, events);
    return events.map((e) => {
      const n = created.get(e.id) ?? 0;
      created.delete(e.id);
      return n;
    });
  }
}
