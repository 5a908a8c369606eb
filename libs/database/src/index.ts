export * from './orm-config';
export * from './database.module';
export * from './migrate';
export * from './transient-errors';
export * from './sql-database';
export * from './request-context.middleware';
