export * from './address-policy';
export * from './resolver';
export * from './webhook-target-guard';
export * from './guarded-lookup';
export * from './http-webhook-sender';
export * from './standard-webhooks-signing';
export * from './webhook.metrics';
export * from './webhooks-infra.module';
