import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { FileStatus } from '@app/contracts';
import { annotateRequestLog } from '@app/observability';
import {
  AbortUploadCommand,
  AbortUploadUseCase,
  Actor,
  AddJobUseCase,
  CheckUploadsCommand,
  CheckUploadsUseCase,
  CompleteUploadCommand,
  CompleteUploadUseCase,
  DeleteUploadUseCase,
  GenerateFileUploadUrlCommand,
  GenerateFileUploadUrlUseCase,
  GetDownloadUrlUseCase,
  GetUploadUseCase,
  JobRequestInput,
  ListJobsUseCase,
  ListUploadPartsUseCase,
  ListUploadsUseCase,
  SignUploadPartsCommand,
  SignUploadPartsUseCase,
} from '@app/domain';
import { ApiErrors } from '../errors/api-errors.decorator';
import { CurrentActor } from '../identity/auth.guard';
import { perUrlsOf, WeighsWork } from '../rate-limit/rate-limit.guard';
import { presentCreated, presentDetails, presentJob, presentParts, presentSession } from './upload.presenter';
import {
  CheckUploadsView,
  CreatedUploadView,
  DownloadView,
  JobListView,
  JobView,
  SignedPartsView,
  UploadDetailsView,
  UploadPageView,
  UploadPartsView,
  UploadSessionView,
} from './uploads.dto';

const UploadId = () => ApiParam({ name: 'id', format: 'uuid', description: 'upload session id' });

@ApiTags('uploads')
@ApiBearerAuth()
@ApiSecurity('uploadToken')
@ApiErrors(401, 503)
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
    private readonly checkUploads: CheckUploadsUseCase,
  ) {}

  /** generateFileUploadUrl: create a session and get its upload instructions. */
  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'generateFileUploadUrl', summary: 'Create an upload session and get pre-signed upload instructions' })
  @ApiBody({ type: GenerateFileUploadUrlCommand })
  @ApiCreatedResponse({ type: CreatedUploadView, description: 'the session (PENDING_UPLOAD) with `upload` instructions' })
  @ApiErrors(400, 404)
  async create(@CurrentActor() actor: Actor, @Body() body: unknown, @Req() req: object) {
    const created = await this.generateFileUploadUrl.execute(actor, body);
    // The request's log line links its correlation id (the request id) to the upload's own (its session id).
    annotateRequestLog(req, { sessionId: created.session.id, strategy: created.upload.strategy, size: created.session.size });
    return presentCreated(created);
  }

  /** Which files (SHA-256 and size) the caller already holds: their own COMPLETED uploads only, admins too. */
  @Post('check')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'checkUploads',
    summary: 'Which of up to 1,000 files (SHA-256, size) you already hold as COMPLETED uploads of your own',
    description:
      'Only your own uploads are considered (admins too). A match is an upload whose declared checksumSha256 VALIDATION verified; use its id with ifExists "reuse".',
  })
  @ApiBody({ type: CheckUploadsCommand })
  @ApiOkResponse({ type: CheckUploadsView })
  @ApiErrors(400)
  async check(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return { files: await this.checkUploads.execute(actor, body) };
  }

  @Get()
  @ApiOperation({ operationId: 'listUploads', summary: "The caller's upload sessions, newest first" })
  @ApiQuery({ name: 'status', required: false, enum: FileStatus, enumName: 'FileStatus' })
  @ApiQuery({ name: 'groupId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } })
  @ApiOkResponse({ type: UploadPageView })
  @ApiErrors(400)
  async list(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    const page = await this.listUploads.execute(actor, query);
    return { items: page.items.map(presentSession), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getUpload', summary: 'One upload session with its parts summary and its jobs' })
  @UploadId()
  @ApiOkResponse({ type: UploadDetailsView })
  @ApiErrors(404)
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentDetails(await this.getUpload.execute(actor, id));
  }

  /** Fresh part URLs for `{ partNumbers }` (resume after a reload, expired URLs). */
  @Post(':id/parts')
  @HttpCode(200)
  @WeighsWork(perUrlsOf('partNumbers'))
  @ApiOperation({ operationId: 'signUploadParts', summary: 'Fresh pre-signed part URLs (resume, expired URLs)' })
  @UploadId()
  @ApiBody({ type: SignUploadPartsCommand })
  @ApiOkResponse({ type: SignedPartsView })
  @ApiErrors(400, 404, 409, 410)
  async signParts(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    const signed = await this.signUploadParts.execute(actor, { id }, body);
    return { uploadId: signed.uploadId, parts: signed.parts, expiresAt: signed.expiresAt.toISOString() };
  }

  /** The parts the store holds (ListParts), reconciled into the session. */
  @Get(':id/parts')
  @ApiOperation({ operationId: 'listUploadParts', summary: 'Parts already in storage (ListParts), reconciled into the session' })
  @UploadId()
  @ApiOkResponse({ type: UploadPartsView })
  @ApiErrors(404, 409)
  async parts(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentParts(await this.listUploadParts.execute(actor, { id }));
  }

  /** multipartUploadCompleteSchema; for a single PUT, confirms the object is stored. Idempotent. */
  @Post(':id/complete')
  @HttpCode(200)
  @ApiOperation({ operationId: 'multipartUploadComplete', summary: 'Complete a multipart upload, or confirm a single PUT is stored; idempotent' })
  @UploadId()
  @ApiBody({ type: CompleteUploadCommand, required: false, description: 'multipart: `parts` as the client saw them; default: what ListParts reports' })
  @ApiOkResponse({ type: UploadSessionView })
  @ApiErrors(400, 404, 409, 410)
  async complete(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentSession(await this.completeUpload.execute(actor, { id }, body ?? {}));
  }

  /** multipartUploadAbortSchema: the session becomes FAILED (ABORTED); nothing stays in the store. */
  @Post(':id/abort')
  @HttpCode(200)
  @ApiOperation({ operationId: 'multipartUploadAbort', summary: 'Abort: the session becomes FAILED (ABORTED); nothing stays in the store' })
  @UploadId()
  @ApiBody({ type: AbortUploadCommand, required: false })
  @ApiOkResponse({ type: UploadSessionView })
  @ApiErrors(400, 404, 409)
  async abort(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentSession(await this.abortUpload.execute(actor, { id }, body ?? {}));
  }

  /** Deletes the stored file (and its thumbnails); the session becomes DELETED. Idempotent. */
  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ operationId: 'deleteUpload', summary: 'Delete the stored file; the session becomes DELETED; idempotent' })
  @UploadId()
  @ApiOkResponse({ type: UploadSessionView })
  @ApiErrors(404, 409)
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentSession(await this.deleteUpload.execute(actor, id));
  }

  /** A pre-signed GET of the file, or of its thumbnail with `?variant=thumbnail`. */
  @Get(':id/download')
  @ApiOperation({ operationId: 'getDownloadUrl', summary: 'A pre-signed GET of the uploaded file, or of its thumbnail' })
  @UploadId()
  @ApiQuery({ name: 'variant', required: false, enum: ['original', 'thumbnail'] })
  @ApiOkResponse({ type: DownloadView })
  @ApiErrors(400, 404, 409)
  async download(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    return this.getDownloadUrl.execute(actor, id, query);
  }

  @Get(':id/jobs')
  @ApiOperation({ operationId: 'listJobs', summary: "The upload's processing jobs" })
  @UploadId()
  @ApiOkResponse({ type: JobListView })
  @ApiErrors(404)
  async jobs(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return { items: (await this.listJobs.execute(actor, id)).map(presentJob) };
  }

  /** Adds a job to an uploaded file. */
  @Post(':id/jobs')
  @HttpCode(201)
  @ApiOperation({ operationId: 'addJob', summary: 'Add a processing job to an uploaded file' })
  @UploadId()
  @ApiBody({ type: JobRequestInput })
  @ApiCreatedResponse({ type: JobView })
  @ApiErrors(400, 404, 409)
  async createJob(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentJob(await this.addJob.execute(actor, id, body));
  }
}
