export * from './statuses';
export * from './topology';
export * from './messages';
