import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Actor, GenerateFileUploadUrlUseCase, GetUploadUseCase, ListUploadsUseCase } from '@app/domain';
import { CurrentActor } from '../identity/auth.guard';
import { presentCreated, presentDetails, presentSession } from './upload.presenter';

@Controller('v1/uploads')
export class UploadsController {
  constructor(
    private readonly generateFileUploadUrl: GenerateFileUploadUrlUseCase,
    private readonly getUpload: GetUploadUseCase,
    private readonly listUploads: ListUploadsUseCase,
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
}
