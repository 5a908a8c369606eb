import { applyDecorators, Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import {
  Actor,
  CancelUploadGroupUseCase,
  CreateUploadGroupCommand,
  CreateUploadGroupUseCase,
  GenerateFileUploadUrlCommand,
  GenerateFileUploadUrlUseCase,
  GetUploadGroupUseCase,
  ListGroupUploadsUseCase,
  ListUploadGroupsUseCase,
} from '@app/domain';
import { ApiErrors } from '../errors/api-errors.decorator';
import { CurrentActor } from '../identity/auth.guard';
import { perItemOf, WeighsWork } from '../rate-limit/rate-limit.guard';
import { CreatedGroupView, CreatedUploadView, GroupPageView, GroupView, UploadPageView } from '../uploads/uploads.dto';

const GroupId = () => ApiParam({ name: 'id', format: 'uuid', description: 'upload group id' });
const Page = () =>
  applyDecorators(
    ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' }),
    ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100 } }),
  );
import { presentCreated, presentSession } from '../uploads/upload.presenter';
import { presentCreatedGroup, presentGroup } from './group.presenter';

/**
 * Upload groups: several files as one logical upload. An anonymous caller gets one `uploadToken` when
 * creating the group; it is the X-Upload-Token of the group and of every session in it.
 */
@ApiTags('groups')
@ApiBearerAuth()
@ApiSecurity('uploadToken')
@ApiErrors(401, 503)
@Controller('v1/groups')
export class GroupsController {
  constructor(
    private readonly createGroup: CreateUploadGroupUseCase,
    private readonly getGroup: GetUploadGroupUseCase,
    private readonly listGroups: ListUploadGroupsUseCase,
    private readonly listGroupUploads: ListGroupUploadsUseCase,
    private readonly cancelGroup: CancelUploadGroupUseCase,
    private readonly generateFileUploadUrl: GenerateFileUploadUrlUseCase,
  ) {}

  /** The group, and the sessions and upload instructions of its `files`, in one transaction. */
  @Post()
  @HttpCode(201)
  // N files are N creates for the rate limit.
  @WeighsWork(perItemOf('files'))
  @ApiOperation({
    operationId: 'createUploadGroup',
    summary: 'Create a group, optionally with its files (sessions and upload instructions in one transaction)',
  })
  @ApiBody({ type: CreateUploadGroupCommand })
  @ApiCreatedResponse({ type: CreatedGroupView })
  @ApiErrors(400)
  async create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return presentCreatedGroup(await this.createGroup.execute(actor, body));
  }

  @Get()
  @ApiOperation({ operationId: 'listUploadGroups', summary: "The caller's groups" })
  @Page()
  @ApiOkResponse({ type: GroupPageView })
  @ApiErrors(400)
  async list(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    const page = await this.listGroups.execute(actor, query);
    return { items: page.items.map(presentGroup), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ operationId: 'getUploadGroup', summary: 'One group with counters, status and byte progress' })
  @GroupId()
  @ApiOkResponse({ type: GroupView })
  @ApiErrors(404)
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentGroup(await this.getGroup.execute(actor, id));
  }

  @Get(':id/uploads')
  @ApiOperation({ operationId: 'listGroupUploads', summary: "The group's upload sessions" })
  @GroupId()
  @Page()
  @ApiOkResponse({ type: UploadPageView })
  @ApiErrors(400, 404)
  async uploads(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    const page = await this.listGroupUploads.execute(actor, id, query);
    return { items: page.items.map(presentSession), nextCursor: page.nextCursor };
  }

  /** Adds one file (body of POST /v1/uploads) while the group has fewer than totalFiles; 409 when full, cancelled or finished. */
  @Post(':id/uploads')
  @HttpCode(201)
  @ApiOperation({ operationId: 'addGroupUpload', summary: 'Add one file to the group while it has fewer than totalFiles' })
  @GroupId()
  @ApiBody({ type: GenerateFileUploadUrlCommand })
  @ApiCreatedResponse({ type: CreatedUploadView })
  @ApiErrors(400, 404, 409)
  async add(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentCreated(await this.generateFileUploadUrl.execute(actor, body, { groupId: id }));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ operationId: 'cancelUploadGroup', summary: 'Cancel the group; its unfinished uploads are aborted' })
  @GroupId()
  @ApiOkResponse({ type: GroupView })
  @ApiErrors(404, 409)
  async cancel(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentGroup(await this.cancelGroup.execute(actor, id));
  }
}
