import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../errors/api-errors.decorator';
import { Actor, CancelJobUseCase, RetryJobUseCase } from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentJob } from '../uploads/upload.presenter';
import { JobView } from '../uploads/uploads.dto';

const JobId = () => ApiParam({ name: 'id', format: 'uuid', description: 'processing job id' });

/** Operations on one processing job (found through its session: someone else's job is a 404). */
@ApiTags('jobs')
@ApiBearerAuth()
@ApiSecurity('uploadToken')
@ApiErrors(401, 404, 409, 503)
@Controller('v1/jobs')
export class JobsController {
  constructor(
    private readonly retryJob: RetryJobUseCase,
    private readonly cancelJob: CancelJobUseCase,
  ) {}

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'retryJob',
    summary: 'Run a failed or cancelled job again',
    description:
      "The job goes PENDING with its history kept: attempts keep counting, and maxAttempts grows by the job's budget (the maxAttempts it was created with), so the retry has a full budget of its own. Its last error and result stay until the new run replaces them. 409 unless FAILED or CANCELLED, and on a FAILED or DELETED upload.",
  })
  @JobId()
  @ApiOkResponse({ type: JobView })
  async retry(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentJob(await this.retryJob.execute(actor, id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ operationId: 'cancelJob', summary: 'Cancel a pending or running job' })
  @JobId()
  @ApiOkResponse({ type: JobView })
  async cancel(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentJob(await this.cancelJob.execute(actor, id));
  }
}
