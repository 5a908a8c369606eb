import { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, DomainErrorCode } from '../errors/domain-error';
import { Actor } from '../identity/actor';
import { WebhookSubscription } from './webhook-subscription.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Webhooks belong to authenticated users: an anonymous caller has nobody to subscribe for. */
export function webhookOwnerOf(actor: Actor): string {
  if (actor.userId === null) throw new DomainError(DomainErrorCode.UNAUTHENTICATED, 'Webhooks need an authenticated caller (Authorization: Bearer <JWT>)');
  return actor.userId;
}

/** A subscription the actor may see (its owner, or an admin), or WEBHOOK_NOT_FOUND, also for other people's. */
export async function findAccessibleSubscription(em: EntityManager, actor: Actor, id: string): Promise<WebhookSubscription> {
  webhookOwnerOf(actor);
  const subscription = UUID.test(id) ? await em.findOne(WebhookSubscription, id) : null;
  if (!subscription || !(actor.isAdmin || subscription.userId === actor.userId))
    throw new DomainError(DomainErrorCode.WEBHOOK_NOT_FOUND, `Webhook ${id} not found`);
  return subscription;
}
