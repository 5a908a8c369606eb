import { IsObject, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';

/**
 * What Uppy's `@uppy/aws-s3` plugin (Companion mode) sends to start an upload: `POST /s3/multipart` as JSON,
 * `GET /s3/params` as a query. It declares no size: the store's size is taken, within the policy.
 */
export class StartCompanionUploadCommand {
  @IsString()
  @Length(1, 255)
  @Matches(/^[^\x00-\x1f\x7f/\\]+$/, { message: 'filename must not contain control characters or path separators' })
  filename!: string;

  @IsString()
  @MaxLength(255)
  @Matches(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i, { message: 'type must look like type/subtype' })
  type!: string;

  /** Uppy's file meta; entries S3 can carry as metadata are kept, the rest (name, type, relativePath...) dropped. */
  @IsOptional() @IsObject()
  metadata?: Record<string, unknown>;
}
