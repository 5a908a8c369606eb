import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable } from '@nestjs/common';
import { WebhookDisabledReason, WebhookHeader } from '@app/contracts';
import { UnitOfWork } from '../../outbox/unit-of-work';
import { AttemptDecision, decideAttempt, describeAttempt } from '../attempt-decision';
import { WEBHOOK_SENDER, WebhookAttemptResult, WebhookSender } from '../ports/webhook-sender.port';
import { WEBHOOK_SIGNING, WebhookSigning } from '../ports/webhook-signing.port';
import { ClaimedDelivery, WebhookDeliveries } from '../webhook-deliveries';
import { WEBHOOK_DELIVERY_POLICY, WebhookDeliveryPolicy } from '../webhook-delivery-policy';
import { WebhookDeliveryStatus } from '../webhook-delivery-status';
import { WebhookEvents } from '../webhook-events';
import { signingSecrets } from '../webhook-subscription.entity';
import { WebhookSubscriptions } from '../webhook-subscriptions';

export const WEBHOOK_USER_AGENT = 'upload-platform-webhooks/1';

/** An attempt's outcome; `superseded` when its lease had expired and another attempt took the delivery over. */
export interface DeliveryAttemptOutcome {
  outcome: AttemptDecision['outcome'] | 'superseded';
  result: WebhookAttemptResult;
}

const STATUS_AFTER: Record<AttemptDecision['outcome'], WebhookDeliveryStatus.DELIVERED | WebhookDeliveryStatus.PENDING | WebhookDeliveryStatus.FAILED> = {
  delivered: WebhookDeliveryStatus.DELIVERED,
  retry: WebhookDeliveryStatus.PENDING,
  failed: WebhookDeliveryStatus.FAILED,
  gone: WebhookDeliveryStatus.FAILED,
  disabled: WebhookDeliveryStatus.FAILED,
};

/**
 * Runs webhook deliveries: claims the due ones (per-endpoint limits, leases), and makes one attempt of a
 * claimed delivery: signs it, POSTs it (outside any transaction), then records the result, the
 * subscription's health and, when the subscription gets disabled, a `webhook.disabled` event, in one
 * transaction. A sender that dies mid-attempt leaves the delivery SENDING until its lease ends; another
 * then sends it again with the same webhook-id (at least once).
 */
@Injectable()
export class DeliverWebhookUseCase {
  constructor(
    private readonly em: EntityManager,
    private readonly uow: UnitOfWork,
    private readonly deliveries: WebhookDeliveries,
    private readonly subscriptions: WebhookSubscriptions,
    private readonly events: WebhookEvents,
    @Inject(WEBHOOK_SENDER) private readonly sender: WebhookSender,
    @Inject(WEBHOOK_SIGNING) private readonly signing: WebhookSigning,
    @Inject(WEBHOOK_DELIVERY_POLICY) private readonly policy: WebhookDeliveryPolicy,
  ) {}

  claim(capacity: number): Promise<ClaimedDelivery[]> {
    return this.deliveries.claimDue(this.em, { capacity, endpointConcurrency: this.policy.endpointConcurrency, leaseMs: this.policy.leaseMs });
  }

  async attempt(claimed: ClaimedDelivery): Promise<DeliveryAttemptOutcome> {
    const signedAt = new Date();
    const timestamp = Math.floor(signedAt.getTime() / 1000);
    const result = await this.sender.send({
      url: claimed.url,
      body: claimed.payload,
      headers: {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        [WebhookHeader.id]: claimed.eventId,
        [WebhookHeader.timestamp]: String(timestamp),
        [WebhookHeader.signature]: this.signing.sign(signingSecrets(claimed, signedAt), claimed.eventId, timestamp, claimed.payload),
      },
    });
    let decision = decideAttempt({ result, runAttempts: claimed.runAttempts, failingSince: claimed.failingSince, now: new Date(), policy: this.policy });
    const described = describeAttempt(result);
    const recorded = await this.uow.run(async (em) => {
      const subscription = await this.subscriptions.lock(em, claimed.subscriptionId);
      if (!subscription) return false;
      let error = described.error;
      // Disabled while this attempt was in flight: no retry under a disabled subscription.
      if (decision.outcome === 'retry' && !subscription.enabled) {
        decision = { outcome: 'failed' };
        error = `${error}; subscription disabled meanwhile`;
      }
      const next = decision.outcome === 'retry' ? decision.nextAttemptAt : null;
      if (
        !(await this.deliveries.recordAttempt(
          em,
          claimed,
          STATUS_AFTER[decision.outcome],
          { statusCode: described.statusCode, error, latencyMs: result.latencyMs },
          next,
        ))
      )
        return false;
      if (decision.outcome === 'delivered') await this.subscriptions.markHealthy(em, claimed.subscriptionId);
      else await this.subscriptions.markFailing(em, claimed.subscriptionId);
      if (decision.outcome === 'gone') await this.disable(em, claimed.subscriptionId, 'GONE', 'the receiver answered 410 Gone');
      if (decision.outcome === 'disabled') await this.disable(em, claimed.subscriptionId, 'FAILING', 'every attempt failed for too long');
      return true;
    });
    return { outcome: recorded ? decision.outcome : 'superseded', result };
  }

  private async disable(em: EntityManager, subscriptionId: string, reason: WebhookDisabledReason, why: string): Promise<void> {
    const disabled = await this.subscriptions.disable(em, subscriptionId, reason);
    if (!disabled) return;
    this.events.disabled(em, disabled, reason);
    await this.deliveries.failWaiting(em, subscriptionId, `subscription disabled: ${why}`);
  }
}
