import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { ENTITIES } from '@app/domain';
import { MIGRATIONS } from './migrations';

/** MikroORM configuration shared by the apps, the migration runner and the tests. */
export function ormConfig(clientUrl: string, opts: { poolMax?: number } = {}) {
  return defineConfig({
    driver: PostgreSqlDriver,
    clientUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    // Migrations are listed explicitly so the same config works from TypeScript sources and compiled output.
    migrations: { migrationsList: MIGRATIONS, transactional: true, allOrNothing: true, snapshot: false, tableName: 'mikro_orm_migrations' },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
    debug: false,
  });
}
