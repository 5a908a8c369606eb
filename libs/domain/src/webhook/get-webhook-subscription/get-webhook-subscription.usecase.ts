import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { Actor } from '../../identity/actor';
import { findAccessibleSubscription } from '../webhook-access';
import { WebhookSubscription } from '../webhook-subscription.entity';

@Injectable()
export class GetWebhookSubscriptionUseCase {
  constructor(private readonly em: EntityManager) {}

  execute(actor: Actor, id: string): Promise<WebhookSubscription> {
    return findAccessibleSubscription(this.em, actor, id);
  }
}
