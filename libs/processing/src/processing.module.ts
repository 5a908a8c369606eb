import { DynamicModule, Module } from '@nestjs/common';
import { JOB_HANDLER_SETTINGS, JOB_RUN_SETTINGS, JobHandler, JobHandlerRegistry, JobHandlerSettings, JobRunner, JobRunSettings } from '@app/domain';
import { ChecksumJobHandler } from './handlers/checksum.job-handler';
import { MetadataJobHandler } from './handlers/metadata.job-handler';
import { ThumbnailJobHandler } from './handlers/thumbnail.job-handler';
import { ValidationJobHandler } from './handlers/validation.job-handler';

/** Every job handler there is. The registry checks them against the types this process consumes. */
const HANDLERS = [ValidationJobHandler, ChecksumJobHandler, MetadataJobHandler, ThumbnailJobHandler];

/**
 * Running jobs (the job-processor only): the domain's JobRunner with the handlers that read and decode files
 * (file-type, sharp). No other app imports this lib, so no other process loads the native image library.
 */
@Module({})
export class JobsModule {
  static forRoot(settings: JobRunSettings & JobHandlerSettings): DynamicModule {
    const run: JobRunSettings = {
      leaseMs: settings.leaseMs,
      leaseRenewalMs: settings.leaseRenewalMs,
      releaseAfterMs: settings.releaseAfterMs,
      timeoutMs: settings.timeoutMs,
      consumedTypes: settings.consumedTypes,
      concurrency: settings.concurrency,
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
