import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { APP_CONFIG } from './config.tokens';

/**
 * The app's configuration inside Nest. The environment is validated once, before the app is built
 * (loadConfigOrExit: a bad value stops the process naming it), because modules are wired from it (forRoot);
 * @nestjs/config then holds that typed object as its `app` namespace, and APP_CONFIG is read from its
 * ConfigService, so there is one source and no second validation of the environment.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot<C extends object>(config: C): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, cache: true, load: [() => ({ app: config })] })],
      providers: [{ provide: APP_CONFIG, inject: [ConfigService], useFactory: (settings: ConfigService) => settings.getOrThrow<C>('app') }],
      exports: [APP_CONFIG],
    };
  }
}
