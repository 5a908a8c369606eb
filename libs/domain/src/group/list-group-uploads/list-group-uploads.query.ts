import { IsEnum, IsOptional } from 'class-validator';
import { FileStatus } from '@app/contracts';
import { PageQuery } from '../../pagination/page.query';

/** Query of GET /v1/groups/:id/uploads. */
export class ListGroupUploadsQuery extends PageQuery {
  @IsOptional()
  @IsEnum(FileStatus)
  status?: FileStatus;
}
