import { Body, Controller, Get, HttpCode, Logger, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { FileStatus } from '@app/contracts';
import { Actor, GenerateFileUploadUrlUseCase, GetUploadUseCase, ListUploadsUseCase } from '@app/domain';
import { ApiErrors } from '../errors/api-errors.decorator';
import { CurrentActor } from '../identity/auth.guard';
import { presentCreated, presentDetails, presentSession } from './upload.presenter';
import { CreateUploadBody, CreatedUploadView, UploadDetailsView, UploadPageView } from './uploads.dto';

@ApiTags('uploads')
@ApiBearerAuth()
@ApiSecurity('uploadToken')
@ApiErrors(401, 503)
@Controller('v1/uploads')
export class UploadsController {
  private readonly logger = new Logger('Uploads');

  constructor(
    private readonly generateFileUploadUrl: GenerateFileUploadUrlUseCase,
    private readonly getUpload: GetUploadUseCase,
    private readonly listUploads: ListUploadsUseCase,
  ) {}

  /** generateFileUploadUrl: create a session and get its upload instructions. */
  @Post()
  @HttpCode(201)
  @ApiOperation({ operationId: 'generateFileUploadUrl', summary: 'Create an upload session and get pre-signed upload instructions' })
  @ApiBody({ type: CreateUploadBody })
  @ApiCreatedResponse({ type: CreatedUploadView, description: 'the session (PENDING_UPLOAD) with `upload` instructions' })
  @ApiErrors(400)
  async create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    const created = await this.generateFileUploadUrl.execute(actor, body);
    // Links this request's correlation id to the upload's own (its session id) in the logs.
    this.logger.log({ msg: 'upload session created', sessionId: created.session.id, strategy: created.upload.strategy, size: created.session.size });
    return presentCreated(created);
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
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiOkResponse({ type: UploadDetailsView })
  @ApiErrors(404)
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentDetails(await this.getUpload.execute(actor, id));
  }
}
