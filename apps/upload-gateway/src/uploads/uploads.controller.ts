import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  AbortUploadUseCase,
  Actor,
  AddJobUseCase,
  CompleteUploadUseCase,
  DeleteUploadUseCase,
  GenerateFileUploadUrlUseCase,
  GetDownloadUrlUseCase,
  GetUploadUseCase,
  ListJobsUseCase,
  ListUploadPartsUseCase,
  ListUploadsUseCase,
  SignUploadPartsUseCase,
} from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentCreated, presentDetails, presentJob, presentParts, presentSession } from './upload.presenter';

@Controller('v1/uploads')
export class UploadsController {
  constructor(
    private readonly generateFileUploadUrl: GenerateFileUploadUrlUseCase,
    private readonly getUpload: GetUploadUseCase,
    private readonly listUploads: ListUploadsUseCase,
    private readonly signUploadParts: SignUploadPartsUseCase,
    private readonly listUploadParts: ListUploadPartsUseCase,
    private readonly completeUpload: CompleteUploadUseCase,
    private readonly abortUpload: AbortUploadUseCase,
    private readonly deleteUpload: DeleteUploadUseCase,
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

  /** Fresh part URLs for `{ partNumbers }` (resume after a reload, expired URLs). */
  @Post(':id/parts')
  @HttpCode(200)
  async signParts(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    const signed = await this.signUploadParts.execute(actor, { id }, body);
    return { uploadId: signed.uploadId, parts: signed.parts, expiresAt: signed.expiresAt.toISOString() };
  }

  /** The parts the store holds (ListParts), reconciled into the session. */
  @Get(':id/parts')
  async parts(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentParts(await this.listUploadParts.execute(actor, { id }));
  }

  /** multipartUploadCompleteSchema; for a single PUT, confirms the object is stored. Idempotent. */
  @Post(':id/complete')
  @HttpCode(200)
  async complete(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentSession(await this.completeUpload.execute(actor, { id }, body ?? {}));
  }

  /** multipartUploadAbortSchema: the session becomes FAILED (ABORTED); nothing stays in the store. */
  @Post(':id/abort')
  @HttpCode(200)
  async abort(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentSession(await this.abortUpload.execute(actor, { id }, body ?? {}));
  }

  /** Deletes the stored file (and its thumbnails); the session becomes DELETED. Idempotent. */
  @Delete(':id')
  @HttpCode(200)
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentSession(await this.deleteUpload.execute(actor, id));
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
