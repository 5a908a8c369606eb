import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  Min,
  registerDecorator,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { JobType } from '@app/contracts';
import { JobRequest } from '../../job/plan/plan-jobs';
import { IsMediaType, IsUploadFilename } from '../upload-fields';
import { MAX_PART_SIZE, MIN_PART_SIZE } from '../multipart/part-plan';

/** POST /v1/uploads `ifExists`. */
export const IF_EXISTS = ['upload', 'reuse'] as const;
export type IfExists = (typeof IF_EXISTS)[number];

const MAX_METADATA_ENTRIES = 20;
const MAX_METADATA_BYTES = 2048;

/** A string → string map S3 can carry as user metadata: token-like keys, printable ASCII values, small in total. */
function IsS3Metadata(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isS3Metadata',
      target: object.constructor,
      propertyName,
      options: {
        message: `must map up to ${MAX_METADATA_ENTRIES} keys of [a-z0-9-_] to printable ASCII strings, ${MAX_METADATA_BYTES} bytes in all`,
        ...options,
      },
      validator: {
        validate(value: unknown) {
          if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
          const entries = Object.entries(value as Record<string, unknown>);
          if (entries.length > MAX_METADATA_ENTRIES) return false;
          let bytes = 0;
          for (const [k, v] of entries) {
            if (!/^[a-z0-9_-]{1,64}$/.test(k) || typeof v !== 'string' || !/^[\x20-\x7e]*$/.test(v)) return false;
            bytes += k.length + v.length;
          }
          return bytes <= MAX_METADATA_BYTES;
        },
      },
    });
}

export class JobRequestInput implements JobRequest {
  @IsEnum(JobType)
  type!: JobType;

  @IsOptional() @IsInt() @Min(1) @Max(10)
  priority?: number;

  @IsOptional() @IsInt() @Min(1) @Max(20)
  maxAttempts?: number;

  @IsOptional() @IsBoolean()
  required?: boolean;

  @IsOptional() @IsObject()
  config?: Record<string, unknown>;
}

/** Body of POST /v1/uploads (the seed's `generateFileUploadUrl`). Validates its own shape; limits from config are checked by the use case. */
export class GenerateFileUploadUrlCommand {
  @IsUploadFilename()
  filename!: string;

  @IsMediaType('contentType')
  contentType!: string;

  @IsInt()
  @Min(1)
  size!: number;

  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'checksumSha256 must be a base64 SHA-256 digest (44 characters)' })
  checksumSha256?: string;

  @IsOptional() @IsUUID()
  groupId?: string;

  /**
   * What to do when the caller already holds this content (a COMPLETED upload of their own with this checksumSha256
   * and size): "upload" (default) sends the bytes again; "reuse" copies the stored object server-side. Needs checksumSha256.
   */
  @IsOptional() @IsIn(IF_EXISTS)
  ifExists?: IfExists;

  @IsOptional() @IsBoolean()
  multipart?: boolean;

  @IsOptional() @IsInt() @Min(MIN_PART_SIZE) @Max(MAX_PART_SIZE)
  partSize?: number;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => JobRequestInput)
  jobs?: JobRequestInput[];

  @IsOptional() @IsS3Metadata()
  metadata?: Record<string, string>;
}

/** The seed's `multipartUploadInitSchema` (initializing a multipart upload (POST /v1/uploads with a size above the multipart threshold)): this command's validation rules. */
export const multipartUploadInitSchema = GenerateFileUploadUrlCommand;
