import { DynamicModule, Module } from '@nestjs/common';
import { CreateWebhookSubscriptionUseCase } from './create-webhook-subscription/create-webhook-subscription.usecase';
import { DeleteWebhookSubscriptionUseCase } from './delete-webhook-subscription/delete-webhook-subscription.usecase';
import { DeliverWebhookUseCase } from './deliver-webhook/deliver-webhook.usecase';
import { GetWebhookSubscriptionUseCase } from './get-webhook-subscription/get-webhook-subscription.usecase';
import { ListWebhookDeliveriesUseCase } from './list-webhook-deliveries/list-webhook-deliveries.usecase';
import { ListWebhookSubscriptionsUseCase } from './list-webhook-subscriptions/list-webhook-subscriptions.usecase';
import { RecordWebhookEventUseCase } from './record-webhook-event/record-webhook-event.usecase';
import { RetryWebhookDeliveryUseCase } from './retry-webhook-delivery/retry-webhook-delivery.usecase';
import { RotateWebhookSecretUseCase, WEBHOOK_SECRET_SETTINGS, WebhookSecretSettings } from './rotate-webhook-secret/rotate-webhook-secret.usecase';
import { UpdateWebhookSubscriptionUseCase } from './update-webhook-subscription/update-webhook-subscription.usecase';
import { WebhookDeliveries } from './webhook-deliveries';
import { WEBHOOK_DELIVERY_POLICY, WebhookDeliveryPolicy } from './webhook-delivery-policy';
import { WebhookEvents } from './webhook-events';
import { WebhookSubscriptions } from './webhook-subscriptions';

/**
 * Webhook use cases. The ports they use (WEBHOOK_TARGET_GUARD, WEBHOOK_SENDER, WEBHOOK_SIGNING) come
 * from libs/webhooks' WebhooksInfraModule, which the app imports beside this one.
 */
@Module({})
export class WebhooksModule {
  /** The subscription and delivery API (the gateway). */
  static api(settings: WebhookSecretSettings): DynamicModule {
    const useCases = [
      CreateWebhookSubscriptionUseCase,
      ListWebhookSubscriptionsUseCase,
      GetWebhookSubscriptionUseCase,
      UpdateWebhookSubscriptionUseCase,
      DeleteWebhookSubscriptionUseCase,
      RotateWebhookSecretUseCase,
      ListWebhookDeliveriesUseCase,
      RetryWebhookDeliveryUseCase,
    ];
    return { module: WebhooksModule, providers: [{ provide: WEBHOOK_SECRET_SETTINGS, useValue: settings }, WebhookDeliveries, ...useCases], exports: useCases };
  }

  /** Recording events as deliveries, and delivering them (the delivering app). */
  static delivery(settings: WebhookDeliveryPolicy): DynamicModule {
    const useCases = [RecordWebhookEventUseCase, DeliverWebhookUseCase];
    return {
      module: WebhooksModule,
      providers: [{ provide: WEBHOOK_DELIVERY_POLICY, useValue: settings }, WebhookDeliveries, WebhookSubscriptions, WebhookEvents, ...useCases],
      exports: [...useCases, WebhookDeliveries],
    };
  }
}
