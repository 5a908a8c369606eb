export * from './statuses';
export * from './topology';
export * from './messages';
export * from './webhooks';
export * from './event-schemas';
export * from './asyncapi';
