import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, Matches, Min, ValidateNested } from 'class-validator';
import { ContentKey } from '../upload-session.queries';

/** One file of POST /v1/uploads/check. */
export class CheckedFileInput implements ContentKey {
  /** base64 SHA-256 of the content */
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'checksumSha256 must be a base64 SHA-256 digest (44 characters)' })
  checksumSha256!: string;

  /** bytes */
  @IsInt()
  @Min(1)
  size!: number;
}

/** Body of POST /v1/uploads/check: which of these files does the caller already hold? */
export class CheckUploadsCommand {
  /** the files to look for among your own COMPLETED uploads */
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000) // a literal: the Swagger plugin documents ArrayMaxSize only from one (maxItems)
  @ValidateNested({ each: true })
  @Type(() => CheckedFileInput)
  files!: CheckedFileInput[];
}
