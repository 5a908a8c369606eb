import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { Actor } from '../../identity/actor';
import { WEBHOOK_SIGNING, WebhookSigning } from '../ports/webhook-signing.port';
import { findAccessibleSubscription } from '../webhook-access';
import { CreatedWebhookSubscription } from '../create-webhook-subscription/create-webhook-subscription.usecase';

export interface WebhookSecretSettings {
  /** How long the previous secret keeps signing after a rotation (0: not at all). */
  rotationGraceMs: number;
}
export const WEBHOOK_SECRET_SETTINGS = Symbol('WebhookSecretSettings');

/**
 * POST /v1/webhooks/:id/rotate-secret: a new secret signs from now on; the one it replaces signs beside it
 * (a second `v1,` signature) until the grace period ends, so receivers can switch without losing a delivery.
 */
@Injectable()
export class RotateWebhookSecretUseCase {
  constructor(
    private readonly em: EntityManager,
    @Inject(WEBHOOK_SIGNING) private readonly signing: WebhookSigning,
    @Inject(WEBHOOK_SECRET_SETTINGS) private readonly settings: WebhookSecretSettings,
  ) {}

  async execute(actor: Actor, id: string): Promise<CreatedWebhookSubscription> {
    const subscription = await findAccessibleSubscription(this.em, actor, id);
    const secret = this.signing.newSecret();
    const grace = this.settings.rotationGraceMs;
    subscription.previousSecret = grace > 0 ? subscription.secret : null;
    subscription.previousSecretExpiresAt = grace > 0 ? new Date(Date.now() + grace) : null;
    subscription.secret = secret;
    await this.em.flush();
    return { subscription, secret };
  }
}
