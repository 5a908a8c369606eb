import { IsEnum, IsOptional, IsUUID } from 'class-validator';
import { FileStatus } from '@app/contracts';
import { PageQuery } from '../../pagination/page.query';

/** Query of GET /v1/uploads. */
export class ListUploadsQuery extends PageQuery {
  @IsOptional()
  @IsEnum(FileStatus)
  status?: FileStatus;

  @IsOptional()
  @IsUUID()
  groupId?: string;
}
