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
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  registerDecorator,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { JobType } from '@app/contracts';
import { JobRequest } from '../../job/plan/plan-jobs';
import { MAX_FILENAME_LENGTH, MAX_MEDIA_TYPE_LENGTH, MEDIA_TYPE, mediaTypeRule, UPLOAD_FILENAME, UPLOAD_FILENAME_RULE } from '../upload-fields';
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

/** One job asked for (POST /v1/uploads `jobs[]`, and the body of POST /v1/uploads/:id/jobs). */
export class JobRequestInput implements JobRequest {
  @IsEnum(JobType)
  type!: JobType;

  /** 1 is most urgent; default from the job type */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  priority?: number;

  /** the attempt budget of each run (default 3): attempts made before the job is FAILED; a manual retry grants it again */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  maxAttempts?: number;

  /** a required job that fails fails the upload (VALIDATION is always required) */
  @IsOptional()
  @IsBoolean()
  required?: boolean;

  /** handler-specific settings */
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;
}

/** Body of POST /v1/uploads (the seed's `generateFileUploadUrl`). Validates its own shape; limits from config are checked by the use case. */
export class GenerateFileUploadUrlCommand {
  /**
   * no control characters or path separators
   * @example 'photo.png'
   */
  @IsString()
  @Length(1, MAX_FILENAME_LENGTH)
  @Matches(UPLOAD_FILENAME, UPLOAD_FILENAME_RULE)
  filename!: string;

  /**
   * type/subtype, within ALLOWED_CONTENT_TYPES
   * @example 'image/png'
   */
  @IsString()
  @MaxLength(MAX_MEDIA_TYPE_LENGTH)
  @Matches(MEDIA_TYPE, mediaTypeRule('contentType'))
  contentType!: string;

  /**
   * bytes, at most MAX_FILE_SIZE_BYTES; the store refuses any other length
   * @example 1024
   */
  @IsInt()
  @Min(1)
  size!: number;

  /** base64 SHA-256 of the content, verified by the VALIDATION job */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'checksumSha256 must be a base64 SHA-256 digest (44 characters)' })
  checksumSha256?: string;

  @IsOptional()
  @IsUUID()
  groupId?: string;

  /** "reuse" (needs checksumSha256): when you hold a COMPLETED upload of this content, the store copies it server-side and `upload` is `{ strategy: "NONE", reason: "DUPLICATE", duplicateOf }`; otherwise the usual instructions */
  @IsOptional()
  @IsIn(IF_EXISTS)
  ifExists?: IfExists = 'upload';

  /** default: size above MULTIPART_THRESHOLD_BYTES */
  @IsOptional()
  @IsBoolean()
  multipart?: boolean;

  /** multipart part size; at most 10,000 parts */
  @IsOptional()
  @IsInt()
  @Min(MIN_PART_SIZE)
  @Max(MAX_PART_SIZE)
  partSize?: number;

  /** default: DEFAULT_JOBS for the content type */
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @ValidateNested({ each: true })
  @Type(() => JobRequestInput)
  jobs?: JobRequestInput[];

  /** up to 20 keys [a-z0-9_-], printable ASCII values, 2 KiB in all */
  @IsOptional()
  @IsS3Metadata()
  metadata?: Record<string, string>;
}

/** The seed's `multipartUploadInitSchema` (initializing a multipart upload (POST /v1/uploads with a size above the multipart threshold)): this command's validation rules. */
export const multipartUploadInitSchema = GenerateFileUploadUrlCommand;
