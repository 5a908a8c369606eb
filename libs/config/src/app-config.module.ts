import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_CONFIG } from './config.tokens';
import { validateEnv } from './env';

/** Provides the app's validated, typed config object under APP_CONFIG (and @nestjs/config's ConfigService over the same env). */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot<E extends object, C>(envClass: new () => E, config: C): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, validate: (raw) => ({ ...validateEnv(envClass, raw) }) })],
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
