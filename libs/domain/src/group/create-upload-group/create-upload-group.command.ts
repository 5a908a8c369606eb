import { Type } from 'class-transformer';
import { IsArray, IsInt, IsOptional, IsString, Length, Matches, MaxLength, Min, ValidateNested } from 'class-validator';
import { GenerateFileUploadUrlCommand } from '../../upload/generate-file-upload-url/generate-file-upload-url.command';

/**
 * Body of POST /v1/groups. Validates its own shape (a bad file is reported as `files[i].field`); the
 * configured maximum of files per group is checked by the use case.
 */
export class CreateUploadGroupCommand {
  /** @example 'holiday photos' */
  @IsString()
  @Length(1, 255)
  @Matches(/^[^\x00-\x1f\x7f]+$/, { message: 'name must not contain control characters' })
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  /** files the group will hold; default: the number of `files` */
  @IsOptional()
  @IsInt()
  @Min(1)
  totalFiles?: number;

  /**
   * seconds the group has to receive all its files (default GROUP_EXPIRY_SECONDS, at most GROUP_MAX_EXPIRY_SECONDS). Past it, a group still short of files or waiting for bytes ends FAILED with error EXPIRED (one group.failed): its files still waiting for bytes end FAILED (EXPIRED) and what they left in storage is removed; files already uploaded finish normally
   */
  @IsOptional()
  @IsInt()
  @Min(60)
  expiresInSeconds?: number;

  /** sessions created with the group, in one transaction; each as the body of POST /v1/uploads (without groupId) */
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => GenerateFileUploadUrlCommand)
  files?: GenerateFileUploadUrlCommand[];
}
