export * from './env';
export * from './config';
export * from './config.tokens';
export * from './app-config.module';
export * from './process';
