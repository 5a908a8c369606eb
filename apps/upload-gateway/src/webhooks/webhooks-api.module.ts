import { DynamicModule, Module } from '@nestjs/common';
import { GatewayConfig } from '@app/config';
import { WebhooksModule } from '@app/domain';
import { WebhooksInfraModule } from '@app/webhooks';
import { AsyncApiController } from './asyncapi.controller';
import { WebhooksController } from './webhooks.controller';

/** The webhooks API (subscriptions, deliveries, replays) and the AsyncAPI event catalogue. */
@Module({})
export class WebhooksApiModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: WebhooksApiModule,
      imports: [
        WebhooksInfraModule.forRoot({ targets: config.webhookTargets }),
        WebhooksModule.api({ rotationGraceMs: config.webhooks.secretRotationGraceMs }),
      ],
      controllers: [WebhooksController, AsyncApiController],
    };
  }
}
