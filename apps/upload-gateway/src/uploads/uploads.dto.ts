import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { FileStatus, GroupStatus, JobStatus, JobType } from '@app/contracts';

/*
 * OpenAPI shapes of the uploads API's responses. Request bodies are documented by the domain's commands that
 * validate them (libs/domain `*.command.ts`: the Swagger plugin in scripts/build-ts.mjs reads their
 * class-validator decorators and doc comments).
 */

export class UploadSessionView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) groupId!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty() bucket!: string;
  @ApiProperty({ example: 'uploads/0b0f…/photo.png' }) objectKey!: string;
  @ApiProperty({ nullable: true, type: String, description: 'S3 multipart upload id' }) uploadId!: string | null;
  @ApiProperty({ enum: FileStatus, enumName: 'FileStatus' }) status!: FileStatus;
  @ApiProperty() filename!: string;
  @ApiProperty() contentType!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ nullable: true, type: String }) checksumSha256!: string | null;
  @ApiProperty({ nullable: true, type: String }) etag!: string | null;
  @ApiProperty({ nullable: true, type: String, example: 'VALIDATION_FAILED' }) error!: string | null;
  @ApiProperty({ nullable: true, type: String }) errorMessage!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) metadata!: Record<string, string>;
  @ApiProperty() totalParts!: number;
  @ApiProperty() completedParts!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) uploadedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: string;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'FAILED uploads only: when the bytes that reached the store (the object, its thumbnails, the parts of a multipart upload) were deleted, FAILED_OBJECT_RETENTION_SECONDS after the failure; null before that, and for every other status',
  })
  objectDeletedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: string;
}

export class SingleUploadInstructions {
  @ApiProperty({ enum: ['SINGLE'] }) strategy!: 'SINGLE';
  @ApiProperty({ enum: ['PUT'] }) method!: 'PUT';
  @ApiProperty({ description: 'pre-signed; signs content type and length' }) url!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'send exactly these headers' }) headers!: Record<string, string>;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: string;
}

export class PartUrl {
  @ApiProperty() partNumber!: number;
  @ApiProperty() url!: string;
}

export class MultipartUploadInstructions {
  @ApiProperty({ enum: ['MULTIPART'] }) strategy!: 'MULTIPART';
  @ApiProperty() uploadId!: string;
  @ApiProperty() partSize!: number;
  @ApiProperty() totalParts!: number;
  @ApiProperty({ type: [PartUrl], description: 'the first batch of part URLs' }) parts!: PartUrl[];
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: string;
}

export class DuplicateUploadInstructions {
  @ApiProperty({ enum: ['NONE'], description: 'send nothing: the store copies your stored copy; the session completes like any upload' }) strategy!: 'NONE';
  @ApiProperty({ enum: ['DUPLICATE'] }) reason!: 'DUPLICATE';
  @ApiProperty({ format: 'uuid', description: 'the session whose object was copied' }) duplicateOf!: string;
}

export class PlannedJobView {
  @ApiProperty({ enum: JobType, enumName: 'JobType' }) type!: JobType;
  @ApiProperty() priority!: number;
  @ApiProperty() maxAttempts!: number;
  @ApiProperty() required!: boolean;
}

@ApiExtraModels(SingleUploadInstructions, MultipartUploadInstructions, DuplicateUploadInstructions)
export class CreatedUploadView extends UploadSessionView {
  @ApiProperty({ type: [PlannedJobView] }) jobs!: PlannedJobView[];
  @ApiProperty({
    oneOf: [
      { $ref: getSchemaPath(SingleUploadInstructions) },
      { $ref: getSchemaPath(MultipartUploadInstructions) },
      { $ref: getSchemaPath(DuplicateUploadInstructions) },
    ],
  })
  upload!: SingleUploadInstructions | MultipartUploadInstructions | DuplicateUploadInstructions;
  @ApiPropertyOptional({ description: 'anonymous callers only, shown once: send it as X-Upload-Token on later calls on this upload' }) uploadToken?: string;
}

export class JobView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ enum: JobType, enumName: 'JobType' }) type!: JobType;
  @ApiProperty({ enum: JobStatus, enumName: 'JobStatus' }) status!: JobStatus;
  @ApiProperty() priority!: number;
  @ApiProperty() required!: boolean;
  @ApiProperty({ type: 'object', additionalProperties: true }) config!: Record<string, unknown>;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) result!: Record<string, unknown> | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ description: 'attempts started so far, over every run: a manual retry (POST /v1/jobs/:id/retry) keeps counting them' }) attempts!: number;
  @ApiProperty({
    description:
      'attempts the job may make in total: the maxAttempts it was created with (its budget), raised by that budget again at each manual retry; automatic retries happen while attempts < maxAttempts. E.g. a budget of 3 used up, then retried by hand: attempts 3, maxAttempts 6',
  })
  maxAttempts!: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) runAfter!: string | null;
}

export class PartsSummaryView {
  @ApiProperty() total!: number;
  @ApiProperty() uploaded!: number;
  @ApiProperty() uploadedBytes!: number;
}

export class UploadDetailsView extends UploadSessionView {
  @ApiProperty({ type: PartsSummaryView }) parts!: PartsSummaryView;
  @ApiProperty({ type: [JobView] }) jobs!: JobView[];
}

export class UploadPageView {
  @ApiProperty({ type: [UploadSessionView] }) items!: UploadSessionView[];
  @ApiProperty({ nullable: true, type: String, description: 'pass as `cursor` for the next page; null on the last' }) nextCursor!: string | null;
}

export class CheckedFileView {
  @ApiProperty() checksumSha256!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ description: 'you hold a COMPLETED upload of this content (its declared checksum verified by VALIDATION)' }) exists!: boolean;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'the newest such upload' }) duplicateOf!: string | null;
}

export class CheckUploadsView {
  @ApiProperty({ type: [CheckedFileView], description: 'one answer per file, in the order asked' }) files!: CheckedFileView[];
}

export class SignedPartsView {
  @ApiProperty() uploadId!: string;
  @ApiProperty({ type: [PartUrl] }) parts!: PartUrl[];
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: string;
}

export class StoredPartView {
  @ApiProperty() partNumber!: number;
  @ApiProperty() etag!: string;
  @ApiProperty() size!: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastModified!: string | null;
}

export class UploadPartsView {
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ nullable: true, type: String }) uploadId!: string | null;
  @ApiProperty({ enum: FileStatus, enumName: 'FileStatus' }) status!: FileStatus;
  @ApiProperty() totalParts!: number;
  @ApiProperty() completedParts!: number;
  @ApiProperty({ type: [StoredPartView], description: 'what the store holds (ListParts), reconciled into the session' }) parts!: StoredPartView[];
  @ApiProperty({ type: [Number] }) missingPartNumbers!: number[];
}

export class GroupView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ nullable: true, type: String }) userId!: string | null;
  @ApiProperty({ enum: GroupStatus, enumName: 'GroupStatus' }) status!: GroupStatus;
  @ApiProperty() totalFiles!: number;
  @ApiProperty({ description: 'files added so far (at most totalFiles)' }) fileCount!: number;
  @ApiProperty() completedFiles!: number;
  @ApiProperty() failedFiles!: number;
  @ApiProperty({ nullable: true, type: String, enum: ['EXPIRED'], description: 'why a FAILED group ended when its files are not the reason; null otherwise' })
  error!: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    description: 'the group takes no file after it; the reconciler then ends it if it is still waiting for files',
  })
  expiresAt!: string;
  @ApiProperty() bytesExpected!: number;
  @ApiProperty() bytesUploaded!: number;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: string;
}

export class CreatedGroupView extends GroupView {
  @ApiProperty({ type: [CreatedUploadView] }) uploads!: CreatedUploadView[];
  @ApiPropertyOptional({ description: 'anonymous callers only, shown once: the X-Upload-Token of the group and all its uploads' }) uploadToken?: string;
}

export class GroupPageView {
  @ApiProperty({ type: [GroupView] }) items!: GroupView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class JobListView {
  @ApiProperty({ type: [JobView] }) items!: JobView[];
}

export class DownloadView {
  @ApiProperty({ enum: ['original', 'thumbnail'] }) variant!: 'original' | 'thumbnail';
  @ApiProperty({ enum: ['GET'] }) method!: 'GET';
  @ApiProperty({ description: 'pre-signed GET' }) url!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) headers!: Record<string, string>;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: string;
}
