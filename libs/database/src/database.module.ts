import { MikroOrmModule } from '@mikro-orm/nestjs';
import { DynamicModule, Module } from '@nestjs/common';
import { ormConfig } from './orm-config';

/** MikroORM for an app: request-scoped EntityManager for HTTP; consumers create their own contexts. */
@Module({})
export class DatabaseModule {
  static forRoot(url: string): DynamicModule {
    return { module: DatabaseModule, imports: [MikroOrmModule.forRoot({ ...ormConfig(url), registerRequestContext: true })] };
  }
}
