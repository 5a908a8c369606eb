import { IsObject, IsOptional } from 'class-validator';
import { IsMediaType, IsUploadFilename } from '../upload-fields';

/**
 * What Uppy's `@uppy/aws-s3` plugin (Companion mode) sends to start an upload: `POST /s3/multipart` as JSON,
 * `GET /s3/params` as a query. It declares no size: the store's size is taken, within the policy.
 */
export class StartCompanionUploadCommand {
  @IsUploadFilename()
  filename!: string;

  @IsMediaType('type')
  type!: string;

  /** Uppy's file meta; entries S3 can carry as metadata are kept, the rest (name, type, relativePath...) dropped. */
  @IsOptional() @IsObject()
  metadata?: Record<string, unknown>;
}
