import { DynamicModule, MiddlewareConsumer, Module, NestModule, OnModuleInit, RequestMethod } from '@nestjs/common';
import { collectDefaultMetrics, register } from 'prom-client';
import { HttpObservabilityMiddleware } from './http.middleware';
import { loggingModule } from './logging';

/**
 * Logs, correlation and metrics for one app: pino JSON logs, the correlation scope of each HTTP request,
 * HTTP durations, and the process' default metrics labelled with the app's name. Apps add
 * MetricsController (or a subclass) to their controllers.
 */
@Module({})
export class ObservabilityModule implements NestModule, OnModuleInit {
  static forRoot(opts: { app: string; logLevel: string }): DynamicModule {
    register.setDefaultLabels({ app: opts.app });
    return { module: ObservabilityModule, imports: [loggingModule(opts.app, opts.logLevel)] };
  }

  onModuleInit(): void {
    // Once per process (a second registration would throw on duplicate names).
    if (!register.getSingleMetric('process_cpu_seconds_total')) collectDefaultMetrics();
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpObservabilityMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}
