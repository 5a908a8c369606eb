import { IsEnum, IsOptional } from 'class-validator';
import { GroupStatus } from '@app/contracts';
import { PageQuery } from '../../pagination/page.query';

/** Query of GET /v1/groups. */
export class ListUploadGroupsQuery extends PageQuery {
  @IsOptional()
  @IsEnum(GroupStatus)
  status?: GroupStatus;
}
