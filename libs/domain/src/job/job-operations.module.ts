import { Module } from '@nestjs/common';
import { AddJobUseCase } from './add-job/add-job.usecase';
import { CancelJobUseCase } from './cancel-job/cancel-job.usecase';
import { ListJobsUseCase } from './list-jobs/list-jobs.usecase';
import { RetryJobUseCase } from './retry-job/retry-job.usecase';

const useCases = [AddJobUseCase, RetryJobUseCase, CancelJobUseCase, ListJobsUseCase];

/** Use cases of the public job API (the gateway). */
@Module({ providers: useCases, exports: useCases })
export class JobOperationsModule {}
