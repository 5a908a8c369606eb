import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Matches, Min, ValidateNested } from 'class-validator';
import { ContentKey } from '../upload-session.queries';

/** Files one check may ask about. */
export const MAX_CHECKED_FILES = 1000;

export class CheckedFile implements ContentKey {
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'checksumSha256 must be a base64 SHA-256 digest (44 characters)' })
  checksumSha256!: string;

  @IsInt()
  @Min(1)
  size!: number;
}

/** Body of POST /v1/uploads/check: which of these files does the caller already hold? */
export class CheckUploadsCommand {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CHECKED_FILES)
  @ValidateNested({ each: true })
  @Type(() => CheckedFile)
  files!: CheckedFile[];
}
