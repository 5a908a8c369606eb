import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { Actor, CancelJobUseCase, RetryJobUseCase } from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentJob } from './upload.presenter';

/** Operations on one processing job (found through its session: someone else's job is a 404). */
@Controller('v1/jobs')
export class JobsController {
  constructor(
    private readonly retryJob: RetryJobUseCase,
    private readonly cancelJob: CancelJobUseCase,
  ) {}

  @Post(':id/retry')
  @HttpCode(200)
  async retry(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentJob(await this.retryJob.execute(actor, id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentJob(await this.cancelJob.execute(actor, id));
  }
}
