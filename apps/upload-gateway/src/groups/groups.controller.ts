import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  Actor,
  CancelUploadGroupUseCase,
  CreateUploadGroupUseCase,
  GenerateFileUploadUrlUseCase,
  GetUploadGroupUseCase,
  ListGroupUploadsUseCase,
  ListUploadGroupsUseCase,
} from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentCreated, presentSession } from '../uploads/upload.presenter';
import { presentCreatedGroup, presentGroup } from './group.presenter';

/**
 * Upload groups: several files as one logical upload. An anonymous caller gets one `uploadToken` when
 * creating the group; it is the X-Upload-Token of the group and of every session in it.
 */
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
  async create(@CurrentActor() actor: Actor, @Body() body: unknown) {
    return presentCreatedGroup(await this.createGroup.execute(actor, body));
  }

  @Get()
  async list(@CurrentActor() actor: Actor, @Query() query: Record<string, unknown>) {
    const page = await this.listGroups.execute(actor, query);
    return { items: page.items.map(presentGroup), nextCursor: page.nextCursor };
  }

  @Get(':id')
  async get(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentGroup(await this.getGroup.execute(actor, id));
  }

  @Get(':id/uploads')
  async uploads(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: Record<string, unknown>) {
    const page = await this.listGroupUploads.execute(actor, id, query);
    return { items: page.items.map(presentSession), nextCursor: page.nextCursor };
  }

  /** Adds one file (body of POST /v1/uploads) while the group has fewer than totalFiles; 409 when full, cancelled or finished. */
  @Post(':id/uploads')
  @HttpCode(201)
  async add(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() body: unknown) {
    return presentCreated(await this.generateFileUploadUrl.execute(actor, body, { groupId: id }));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@CurrentActor() actor: Actor, @Param('id') id: string) {
    return presentGroup(await this.cancelGroup.execute(actor, id));
  }
}
