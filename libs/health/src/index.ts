export * from './health.controller';
export * from './health.indicators';
export * from './health.module';
