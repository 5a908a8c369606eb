import { FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { after, decodeCursor, Page, toPage } from '../../pagination/cursor';
import { PageQuery } from '../../pagination/page.query';
import { webhookOwnerOf } from '../webhook-access';
import { WebhookSubscription } from '../webhook-subscription.entity';

/** The caller's subscriptions (an admin's: everyone's), newest first, keyset-paginated. */
@Injectable()
export class ListWebhookSubscriptionsUseCase {
  constructor(private readonly em: EntityManager) {}

  async execute(actor: Actor, input: unknown): Promise<Page<WebhookSubscription>> {
    const userId = webhookOwnerOf(actor);
    const q = validateCommand(PageQuery, input);
    const limit = q.limit ?? 20;
    const where: FilterQuery<WebhookSubscription> = { ...(actor.isAdmin ? {} : { userId }), ...after(q.cursor ? decodeCursor(q.cursor) : null) };
    return toPage(await this.em.find(WebhookSubscription, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: limit + 1 }), limit);
  }
}
