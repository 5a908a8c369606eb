import { DynamicModule, Module } from '@nestjs/common';
import { ChecksumJobHandler } from './handlers/checksum.job-handler';
import { JOB_HANDLER_SETTINGS, JobHandler, JobHandlerSettings } from './handlers/job-handler';
import { JobHandlerRegistry } from './handlers/job-handler-registry';
import { MetadataJobHandler } from './handlers/metadata.job-handler';
import { ThumbnailJobHandler } from './handlers/thumbnail.job-handler';
import { ValidationJobHandler } from './handlers/validation.job-handler';
import { JOB_RUN_SETTINGS, JobRunner, JobRunSettings } from './run-jobs/job-runner';

/** Every job handler there is. The registry checks them against the types this process consumes. */
const HANDLERS = [ValidationJobHandler, ChecksumJobHandler, MetadataJobHandler, ThumbnailJobHandler];

/** Running jobs (the job-processor). */
@Module({})
export class JobsModule {
  static forRoot(settings: JobRunSettings & JobHandlerSettings): DynamicModule {
    const run: JobRunSettings = {
      leaseMs: settings.leaseMs,
      leaseRenewalMs: settings.leaseRenewalMs,
      releaseAfterMs: settings.releaseAfterMs,
      timeoutMs: settings.timeoutMs,
      consumedTypes: settings.consumedTypes,
    };
    const handlers: JobHandlerSettings = { thumbnailSize: settings.thumbnailSize, maxImagePixels: settings.maxImagePixels };
    return {
      module: JobsModule,
      providers: [
        ...HANDLERS,
        { provide: JOB_RUN_SETTINGS, useValue: run },
        { provide: JOB_HANDLER_SETTINGS, useValue: handlers },
        { provide: JobHandlerRegistry, inject: HANDLERS, useFactory: (...all: JobHandler[]) => new JobHandlerRegistry(all, settings.consumedTypes) },
        JobRunner,
      ],
      exports: [JobRunner],
    };
  }
}
