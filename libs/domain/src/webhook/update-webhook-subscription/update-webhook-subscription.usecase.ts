import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { WEBHOOK_TARGET_GUARD, WebhookTargetGuard } from '../ports/webhook-target-guard.port';
import { findAccessibleSubscription } from '../webhook-access';
import { WebhookDeliveries } from '../webhook-deliveries';
import { WebhookSubscription } from '../webhook-subscription.entity';
import { assertAcceptableTarget } from '../webhook-target';
import { UpdateWebhookSubscriptionCommand } from './update-webhook-subscription.command';

/**
 * PATCH /v1/webhooks/:id. A new URL is checked like at creation. Disabling fails the waiting deliveries
 * (replayable); enabling clears the platform's reason and the failure streak.
 */
@Injectable()
export class UpdateWebhookSubscriptionUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly deliveries: WebhookDeliveries,
    @Inject(WEBHOOK_TARGET_GUARD) private readonly guard: WebhookTargetGuard,
  ) {}

  async execute(actor: Actor, id: string, input: unknown): Promise<WebhookSubscription> {
    const c = validateCommand(UpdateWebhookSubscriptionCommand, input);
    const subscription = await findAccessibleSubscription(this.em, actor, id);
    if (Object.values(c).every((v) => v === undefined))
      throw DomainError.invalid([{ field: 'body', message: 'name at least one of url, events, enabled, description' }]);
    if (c.url !== undefined) await assertAcceptableTarget(this.guard, c.url);
    return this.uow.run(async (em) => {
      const s = em.merge(subscription);
      if (c.url !== undefined) s.url = c.url;
      if (c.events !== undefined) s.events = c.events;
      if (c.description !== undefined) s.description = c.description;
      if (c.enabled === true && !s.enabled) Object.assign(s, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
      if (c.enabled === false && s.enabled) {
        Object.assign(s, { enabled: false, disabledReason: null, disabledAt: new Date() });
        await this.deliveries.failWaiting(em, s.id, 'subscription disabled by its owner');
      }
      await em.flush();
      return s;
    });
  }
}
