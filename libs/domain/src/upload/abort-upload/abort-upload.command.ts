import { IsOptional, IsString, MaxLength } from 'class-validator';

/** Body of POST /v1/uploads/:id/abort (the seed's `multipartUploadAbortSchema`); may be empty. */
export class AbortUploadCommand {
  /** Why the client gave up; kept as the session's error message. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

/** The seed's `multipartUploadAbortSchema` (aborting a multipart upload): this command's validation rules. */
export const multipartUploadAbortSchema = AbortUploadCommand;
