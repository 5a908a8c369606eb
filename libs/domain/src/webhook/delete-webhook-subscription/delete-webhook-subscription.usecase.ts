import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Actor } from '../../identity/actor';
import { findAccessibleSubscription } from '../webhook-access';
import { WebhookSubscription } from '../webhook-subscription.entity';

/** DELETE /v1/webhooks/:id: the subscription and its deliveries (cascade) are gone; attempts in flight finish unrecorded. */
@Injectable()
export class DeleteWebhookSubscriptionUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, id: string): Promise<void> {
    const subscription = await findAccessibleSubscription(this.em, actor, id);
    await this.em.nativeDelete(WebhookSubscription, { id: subscription.id });
  }
}
