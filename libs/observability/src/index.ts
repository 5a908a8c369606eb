export * from './correlation';
export * from './logging';
export * from './metrics';
export * from './metrics.controller';
export * from './http.middleware';
export * from './observability.module';
export * from './openapi';
