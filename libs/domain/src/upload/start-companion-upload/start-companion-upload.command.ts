import { IsObject, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { MAX_FILENAME_LENGTH, MAX_MEDIA_TYPE_LENGTH, MEDIA_TYPE, mediaTypeRule, UPLOAD_FILENAME, UPLOAD_FILENAME_RULE } from '../upload-fields';

/**
 * What Uppy's `@uppy/aws-s3` plugin (Companion mode) sends to start an upload: `POST /s3/multipart` as JSON,
 * `GET /s3/params` as a query. It declares no size: the store's size is taken, within the policy.
 */
export class StartCompanionUploadCommand {
  @IsString()
  @Length(1, MAX_FILENAME_LENGTH)
  @Matches(UPLOAD_FILENAME, UPLOAD_FILENAME_RULE)
  filename!: string;

  @IsString()
  @MaxLength(MAX_MEDIA_TYPE_LENGTH)
  @Matches(MEDIA_TYPE, mediaTypeRule('type'))
  type!: string;

  /** Uppy's file meta; entries S3 can carry as metadata are kept, the rest (name, type, relativePath...) dropped. */
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}
