import { DynamicModule, Global, Module } from '@nestjs/common';
import { WEBHOOK_SENDER, WEBHOOK_SIGNING, WEBHOOK_TARGET_GUARD } from '@app/domain';
import { TargetSettings } from './address-policy';
import { HttpWebhookSender } from './http-webhook-sender';
import { StandardWebhooksSigning } from './standard-webhooks-signing';
import { AddressWebhookTargetGuard } from './webhook-target-guard';

/** The webhook ports of the domain: target guard, HTTP sender (when `timeoutMs` is given), Standard Webhooks signing. */
@Global()
@Module({})
export class WebhooksInfraModule {
  static forRoot(settings: { targets: TargetSettings; timeoutMs?: number }): DynamicModule {
    const providers = [
      { provide: WEBHOOK_TARGET_GUARD, useFactory: () => new AddressWebhookTargetGuard(settings.targets) },
      { provide: WEBHOOK_SIGNING, useClass: StandardWebhooksSigning },
      ...(settings.timeoutMs !== undefined
        ? [{ provide: WEBHOOK_SENDER, useFactory: () => new HttpWebhookSender({ ...settings.targets, timeoutMs: settings.timeoutMs! }) }]
        : []),
    ];
    return { module: WebhooksInfraModule, providers, exports: providers.map((p) => p.provide) };
  }
}
