import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '../../errors/domain-error';
import { validateCommand } from '../../errors/validate-command';
import { Actor } from '../../identity/actor';
import { WEBHOOK_SIGNING, WebhookSigning } from '../ports/webhook-signing.port';
import { WEBHOOK_TARGET_GUARD, WebhookTargetGuard } from '../ports/webhook-target-guard.port';
import { webhookOwnerOf } from '../webhook-access';
import { WebhookScope, WebhookSubscription } from '../webhook-subscription.entity';
import { assertAcceptableTarget } from '../webhook-target';
import { CreateWebhookSubscriptionCommand } from './create-webhook-subscription.command';

/** A subscription and its signing secret (shown this once). */
export interface CreatedWebhookSubscription {
  subscription: WebhookSubscription;
  secret: string;
}

/** POST /v1/webhooks: validates the body and the target, creates the subscription with a fresh secret. */
@Injectable()
export class CreateWebhookSubscriptionUseCase {
  constructor(
    private readonly em: EntityManager,
    @Inject(WEBHOOK_TARGET_GUARD) private readonly guard: WebhookTargetGuard,
    @Inject(WEBHOOK_SIGNING) private readonly signing: WebhookSigning,
  ) {}

  async execute(actor: Actor, input: unknown): Promise<CreatedWebhookSubscription> {
    const userId = webhookOwnerOf(actor);
    const c = validateCommand(CreateWebhookSubscriptionCommand, input);
    if (c.scope === WebhookScope.ALL && !actor.isAdmin) {
      throw DomainError.invalid([{ field: 'scope', message: "only administrators may subscribe to every user's events (scope all)" }]);
    }
    await assertAcceptableTarget(this.guard, c.url);
    const secret = this.signing.newSecret();
    const subscription = new WebhookSubscription({ userId, url: c.url, events: c.events, secret, scope: c.scope, description: c.description });
    await this.em.persistAndFlush(subscription);
    return { subscription, secret };
  }
}
