import { Transform } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, IsUUID, Matches, Max, Min } from 'class-validator';
import { FileStatus } from '@app/contracts';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value);

/** Query of GET /v1/uploads. */
export class ListUploadsQuery {
  @IsOptional() @IsEnum(FileStatus)
  status?: FileStatus;

  @IsOptional() @IsUUID()
  groupId?: string;

  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_-]{1,200}$/, { message: 'cursor must be a cursor returned by a previous page' })
  cursor?: string;

  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(100)
  limit?: number;
}
