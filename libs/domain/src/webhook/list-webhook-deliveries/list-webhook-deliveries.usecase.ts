import { FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DomainError, DomainErrorCode } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { after, decodeCursor, Page, toPage } from '../../pagination/cursor';
import { findAccessibleSubscription } from '../webhook-access';
import { WebhookDelivery } from '../webhook-delivery.entity';
import { ListWebhookDeliveriesQuery } from './list-webhook-deliveries.query';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A subscription's deliveries, newest first, filtered by status, keyset-paginated; or one of them with its body. */
@Injectable()
export class ListWebhookDeliveriesUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, subscriptionId: string, input: unknown): Promise<Page<WebhookDelivery>> {
    const q = validateCommand(ListWebhookDeliveriesQuery, input);
    const subscription = await findAccessibleSubscription(this.em, actor, subscriptionId);
    const limit = q.limit ?? 20;
    const where: FilterQuery<WebhookDelivery> = {
      subscriptionId: subscription.id,
      ...(q.status ? { status: q.status } : {}),
      ...after(q.cursor ? decodeCursor(q.cursor) : null),
    };
    return toPage(await this.em.find(WebhookDelivery, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 }), limit);
  }

  async one(actor: Actor, subscriptionId: string, deliveryId: string): Promise<WebhookDelivery> {
    const subscription = await findAccessibleSubscription(this.em, actor, subscriptionId);
    return findDelivery(this.em, subscription.id, deliveryId);
  }
}

/** One delivery of a subscription (with its body), or WEBHOOK_DELIVERY_NOT_FOUND. */
export async function findDelivery(em: EntityManager, subscriptionId: string, deliveryId: string): Promise<WebhookDelivery> {
  const delivery = UUID.test(deliveryId)
    ? await em.findOne(WebhookDelivery, { id: deliveryId, subscriptionId }, { populate: ['payload'], refresh: true })
    : null;
  if (!delivery) throw new DomainError(DomainErrorCode.WEBHOOK_DELIVERY_NOT_FOUND, `Delivery ${deliveryId} of webhook ${subscriptionId} not found`);
  return delivery;
}
