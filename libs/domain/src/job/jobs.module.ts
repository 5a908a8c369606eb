import { DynamicModule, Module } from '@nestjs/common';
import { JobType } from '@app/contracts';
import { JobHandler } from './handlers/job-handler';
import { JobHandlerRegistry } from './handlers/job-handler-registry';
import { ValidationJobHandler } from './handlers/validation.job-handler';
import { JOB_RUN_SETTINGS, JobRunSettings, RunJobUseCase } from './run-job/run-job.usecase';

/** Every job handler there is. The registry checks them against the types this process consumes. */
const HANDLERS = [ValidationJobHandler];

@Module({})
export class JobsModule {
  static forRoot(settings: JobRunSettings & { consumedTypes: readonly JobType[] }): DynamicModule {
    return {
      module: JobsModule,
      providers: [
        ...HANDLERS,
        { provide: JOB_RUN_SETTINGS, useValue: { leaseMs: settings.leaseMs, releaseAfterMs: settings.releaseAfterMs } },
        { provide: JobHandlerRegistry, inject: HANDLERS, useFactory: (...handlers: JobHandler[]) => new JobHandlerRegistry(handlers, settings.consumedTypes) },
        RunJobUseCase,
      ],
      exports: [RunJobUseCase],
    };
  }
}
