import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainEventType, WebhookDisabledReason, WebhookEventV1 } from '@app/contracts';
import { randomUUID } from 'node:crypto';
import { OutboxMessage } from '../outbox/outbox-message.entity';
import { MESSAGE_ADDRESSING, MessageAddressing } from '../ports/message-addressing.port';
import { DisabledSubscription } from './webhook-subscriptions';

/**
 * The domain events webhooks cause, written to the outbox in the caller's transaction (beside the
 * Outbox's own writers, in the same envelope), so the change and its event commit together.
 */
@Injectable()
export class WebhookEvents {
  constructor(@Inject(MESSAGE_ADDRESSING) private readonly addressing: MessageAddressing) {}

  disabled(em: EntityManager, s: DisabledSubscription, reason: WebhookDisabledReason): void {
    const event: WebhookEventV1 = {
      id: randomUUID(),
      type: DomainEventType.WebhookDisabled,
      occurredAt: s.disabledAt.toISOString(),
      version: 1,
      correlationId: s.id,
      data: {
        subscriptionId: s.id,
        userId: s.userId,
        url: s.url,
        reason,
        failingSince: s.failingSince?.toISOString() ?? null,
        disabledAt: s.disabledAt.toISOString(),
      },
    };
    em.persist(new OutboxMessage({ ...this.addressing.addressOf({ kind: 'domain-event', eventType: event.type }), messageId: event.id, payload: event }));
  }
}
