import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested } from 'class-validator';
import { MAX_PARTS } from '../multipart/part-plan';

export class CompletedPartInput {
  @IsInt()
  @Min(1)
  @Max(MAX_PARTS)
  partNumber!: number;

  /** As the store answered the part's PUT (quotes optional). */
  @IsString()
  @Length(1, 200)
  etag!: string;
}

/**
 * Body of POST /v1/uploads/:id/complete (the seed's `multipartUploadCompleteSchema`). The part list is
 * optional: the upload is completed from what the store holds, and a list given is checked against it.
 */
export class CompleteUploadCommand {
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_PARTS)
  @ValidateNested({ each: true })
  @Type(() => CompletedPartInput)
  parts?: CompletedPartInput[];
}

/** The seed's `multipartUploadCompleteSchema` (completing a multipart upload): this command's validation rules. */
export const multipartUploadCompleteSchema = CompleteUploadCommand;
