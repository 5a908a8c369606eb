import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { Actor } from '../../identity/actor';
import { findDelivery } from '../list-webhook-deliveries/list-webhook-deliveries.usecase';
import { findAccessibleSubscription } from '../webhook-access';
import { WebhookDeliveries } from '../webhook-deliveries';
import { WebhookDelivery } from '../webhook-delivery.entity';

/**
 * POST /v1/webhooks/:id/deliveries/:deliveryId/retry: the delivery is due now, with the same body and the
 * same webhook-id, and a fresh run of the retry schedule. 409 while the subscription is disabled or an
 * attempt is in flight.
 */
@Injectable()
export class RetryWebhookDeliveryUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly deliveries: WebhookDeliveries,
  ) {}

  async execute(actor: Actor, subscriptionId: string, deliveryId: string): Promise<WebhookDelivery> {
    const subscription = await findAccessibleSubscription(this.em, actor, subscriptionId);
    await findDelivery(this.em, subscription.id, deliveryId);
    if (!subscription.enabled) {
      throw new DomainError(DomainErrorCode.WEBHOOK_STATE_CONFLICT, `Webhook ${subscription.id} is disabled; enable it (PATCH enabled: true) before replaying`);
    }
    if (!(await this.deliveries.replay(this.em, deliveryId))) {
      throw new DomainError(DomainErrorCode.WEBHOOK_STATE_CONFLICT, `Delivery ${deliveryId} has an attempt in flight; retry once it is recorded`);
    }
    return findDelivery(this.em, subscription.id, deliveryId);
  }
}
