import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Actor, AddJobUseCase, GenerateFileUploadUrlUseCase, GetDownloadUrlUseCase, GetUploadUseCase, ListJobsUseCase, ListUploadsUseCase } from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentCreated, presentDetails, presentJob, presentSession } from './upload.presenter';

@Controller('v1/uploads')
export class UploadsController {
  constructor(
    private readonly generateFileUploadUrl: GenerateFileUploadUrlUseCase,
    private readonly getUpload: GetUploadUseCase,
    private readonly listUploads: ListUploadsUseCase,
    private readonly getDownloadUrl: GetDownloadUrlUseCase,
    private readonly listJobs: ListJobsUseCase,
    private readonly addJob: AddJobUseCase,
  ) {}

  /** generateFileUploadUrl: create a session and get its upload instructions. */
  @Post()
  @HttpCode(201)
  async create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return presentCreated(await this.generateFileUploadUrl.execute(actor, body));
  }

  @Get()
  async list(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    const page = await this.listUploads.execute(actor, query);
    return { items: page.items.map(presentSession), nextCursor: page.nextCursor };
  }

  @Get(':id')
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentDetails(await this.getUpload.execute(actor, id));
  }

  /** A pre-signed GET of the file, or of its thumbnail with `?variant=thumbnail`. */
  @Get(':id/download')
  async download(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    return this.getDownloadUrl.execute(actor, id, query);
  }

  @Get(':id/jobs')
  async jobs(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return { items: (await this.listJobs.execute(actor, id)).map(presentJob) };
  }

  /** Adds a job to an uploaded file. */
  @Post(':id/jobs')
  @HttpCode(201)
  async createJob(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentJob(await this.addJob.execute(actor, id, body));
  }
}
