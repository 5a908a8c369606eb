import { MikroORM } from '@mikro-orm/postgresql';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { DynamicModule, Global, Module } from '@nestjs/common';
import { SQL_DATABASE } from '@app/domain';
import { ormConfig } from './orm-config';
import { PgSqlDatabase } from './sql-database';

/**
 * MikroORM for an app (request-scoped EntityManager for HTTP; consumers create their own contexts), and the
 * domain's SqlDatabase port on the same connection pool.
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(url: string, opts: { poolMax?: number } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [MikroOrmModule.forRoot({ ...ormConfig(url, opts), registerRequestContext: true })],
      providers: [{ provide: SQL_DATABASE, inject: [MikroORM], useFactory: (orm: MikroORM) => new PgSqlDatabase(orm) }],
      exports: [SQL_DATABASE],
    };
  }
}
