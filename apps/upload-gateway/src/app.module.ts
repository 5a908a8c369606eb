import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AppConfigModule, GatewayConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { DomainCoreModule, JobOperationsModule, UploadsModule } from '@app/domain';
import { HealthModule } from '@app/health';
import { AmqpMessageAddressing, MessagingModule } from '@app/messaging';
import { ObservabilityModule } from '@app/observability';
import { StorageModule } from '@app/storage';
import { S3CompanionController } from './companion/s3-companion.controller';
import { DemoController } from './demo/demo.controller';
import { HttpErrorFilter } from './errors/http-error.filter';
import { GroupsController } from './groups/groups.controller';
import { GatewayHealthController } from './operations/gateway-health.controller';
import { GatewayMetricsController } from './operations/gateway-metrics.controller';
import { AuthGuard } from './identity/auth.guard';
import { PageTokens } from './identity/page-tokens';
import { TokenVerifier } from './identity/token-verifier';
import { JobsController } from './jobs/jobs.controller';
import { LiveModule } from './live/live.module';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimits } from './rate-limit/rate-limits';
import { SharedHitCounts } from './rate-limit/shared-hit-counts';
import { UploadsController } from './uploads/uploads.controller';
import { WebhooksApiModule } from './webhooks/webhooks-api.module';

/** The public HTTP API. */
@Module({})
export class AppModule {
  static forRoot(config: GatewayConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ app: 'upload-gateway', logLevel: config.logLevel }),
        DatabaseModule.forRoot(config.database.url),
        MessagingModule.forRoot(config.amqp),
        StorageModule.forRoot(config.s3),
        HealthModule,
        DomainCoreModule.forRoot(new AmqpMessageAddressing(config.amqp.domainEventsExchange)),
        UploadsModule.forRoot(config.uploads),
        JobOperationsModule,
        WebhooksApiModule.forRoot(config),
        LiveModule.forRoot(config),
      ],
      controllers: [
        UploadsController,
        JobsController,
        GroupsController,
        S3CompanionController,
        DemoController,
        GatewayHealthController,
        // With GATEWAY_METRICS_PORT, /metrics is served on that port only (main.ts), never beside the API.
        ...(config.metricsPort === null ? [GatewayMetricsController] : []),
      ],
      providers: [
        TokenVerifier,
        { provide: PageTokens, useFactory: () => new PageTokens(config.live.ticketSecret) },
        SharedHitCounts,
        RateLimits,
        // Global guards run in this order: identity first, then the rate limit counts the caller it established.
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
