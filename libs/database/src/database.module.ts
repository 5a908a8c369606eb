import { MikroORM } from '@mikro-orm/postgresql';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { DynamicModule, Global, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { SQL_DATABASE } from '@app/domain';
import { ormConfig, PoolOptions } from './orm-config';
import { RequestContextMiddleware } from './request-context.middleware';
import { PgSqlDatabase } from './sql-database';

/**
 * MikroORM for an app (request-scoped EntityManager for HTTP, forked on first use: RequestContextMiddleware;
 * consumers create their own contexts), and the domain's SqlDatabase port on the same connection pool.
 */
@Global()
@Module({})
export class DatabaseModule implements NestModule {
  static forRoot(url: string, opts: PoolOptions = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [MikroOrmModule.forRoot({ ...ormConfig(url, opts), registerRequestContext: false })],
      providers: [{ provide: SQL_DATABASE, inject: [MikroORM], useFactory: (orm: MikroORM) => new PgSqlDatabase(orm) }],
      exports: [SQL_DATABASE],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestContextMiddleware).forRoutes({ path: '{*all}', method: RequestMethod.ALL });
  }
}
