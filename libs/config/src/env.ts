import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync, ValidateIf } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  return value;
};
const urlOpts = { require_tld: false, require_protocol: true };

/** Settings every app needs. Each app extends it with its own. */
export class BaseEnv {
  @IsIn(['development', 'production', 'test']) NODE_ENV: string = 'development';
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace']) LOG_LEVEL: string = 'info';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' }) DATABASE_URL!: string;
  @Matches(/^amqps?:\/\/.+/, { message: 'AMQP_URL must be an amqp:// URL' }) AMQP_URL!: string;
  @IsString() @Matches(/^[\w.:-]+$/) STORAGE_EVENTS_EXCHANGE: string = 'storage.events';
  @IsString() @Matches(/^[\w.:-]+$/) DOMAIN_EVENTS_EXCHANGE: string = 'uploads.events';

  @IsUrl(urlOpts) S3_ENDPOINT!: string;
  @IsOptional() @IsUrl(urlOpts) S3_PUBLIC_ENDPOINT?: string;
  @IsString() S3_REGION: string = 'us-east-1';
  @IsString() S3_ACCESS_KEY!: string;
  @IsString() S3_SECRET_KEY!: string;
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'S3_BUCKET must be a valid bucket name' }) S3_BUCKET!: string;
  @Transform(toBool) @IsBoolean() S3_FORCE_PATH_STYLE: boolean = true;

  /** Seconds a graceful shutdown may take before the process exits anyway. */
  @Transform(toInt) @IsInt() @Min(1) @Max(600) SHUTDOWN_TIMEOUT_SECONDS: number = 25;
}

export class GatewayEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) GATEWAY_PORT: number = 3000;
  @Transform(toInt) @IsInt() @Min(10) @Max(7 * 24 * 3600) PRESIGNED_URL_TTL_SECONDS: number = 900;
  @Transform(toInt) @IsInt() @Min(60) UPLOAD_EXPIRY_SECONDS: number = 86400;
  @Transform(toInt) @IsInt() @Min(1) MAX_FILE_SIZE_BYTES: number = 5 * 1024 ** 3;
  @Transform(toInt) @IsInt() @Min(5 * 1024 ** 2) MULTIPART_THRESHOLD_BYTES: number = 100 * 1024 ** 2;
  @Transform(toInt) @IsInt() @Min(5 * 1024 ** 2) @Max(5 * 1024 ** 3) DEFAULT_PART_SIZE_BYTES: number = 8 * 1024 ** 2;
  @Matches(/^\s*([\w.+-]+|\*)\/([\w.+-]+|\*)\s*(,\s*([\w.+-]+|\*)\/([\w.+-]+|\*)\s*)*$/, {
    message: 'ALLOWED_CONTENT_TYPES must be a comma-separated list of type/subtype patterns (wildcards allowed)',
  })
  ALLOWED_CONTENT_TYPES: string = '*/*';
  /** Most files one upload group may have (its totalFiles, and the files sent with POST /v1/groups). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000) MAX_FILES_PER_GROUP: number = 1000;
  @Transform(toBool) @IsBoolean() ANONYMOUS_UPLOADS: boolean = false;
  @ValidateIf((env: GatewayEnv) => !env.ANONYMOUS_UPLOADS && !env.JWKS_URL)
  @IsString({ message: 'JWT_SECRET or JWKS_URL is required when ANONYMOUS_UPLOADS is off' })
  @Matches(/^.{16,}$/, { message: 'JWT_SECRET must be at least 16 characters' })
  JWT_SECRET?: string;
  @IsOptional() @IsUrl(urlOpts) JWKS_URL?: string;
  /** When set, tokens must carry this `iss`. */
  @IsOptional() @IsString() JWT_ISSUER?: string;
  /** When set, tokens must carry this `aud`. */
  @IsOptional() @IsString() JWT_AUDIENCE?: string;
  /** Bytes each user may hold in sessions that are not FAILED or DELETED (declared sizes); 0 = unlimited. Anonymous sessions are not counted. */
  @Transform(toInt) @IsInt() @Min(0) USER_QUOTA_BYTES: number = 0;
  /** Requests that create or change something (every non-GET route, and GETs marked as creating), per caller per window; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) RATE_LIMIT_WRITES: number = 120;
  /** Requests of any kind per caller per window; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) RATE_LIMIT_REQUESTS: number = 1200;
  /** The window of both rate limits. Callers are counted by user id, anonymous ones by client IP. */
  @Transform(toInt) @IsInt() @Min(1) @Max(86400) RATE_LIMIT_WINDOW_SECONDS: number = 60;
  /** Milliseconds between two exchanges of rate-limit counts with the other gateway replicas (through Postgres); 0 = each replica counts alone. */
  @Transform(toInt) @IsInt() @ValidateIf((env: GatewayEnv) => env.RATE_LIMIT_SYNC_MS !== 0) @Min(100, { message: 'RATE_LIMIT_SYNC_MS must be 0 (off) or 100 to 60000' }) @Max(60_000, { message: 'RATE_LIMIT_SYNC_MS must be 0 (off) or 100 to 60000' })
  RATE_LIMIT_SYNC_MS: number = 1000;
  /** Browser origins allowed by CORS (comma-separated, or *); empty = no CORS headers at all. */
  @ValidateIf((env: GatewayEnv) => env.CORS_ORIGINS !== '') @Matches(/^\s*(\*|https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*)\s*$/, { message: 'CORS_ORIGINS must be * or a comma-separated list of http(s) origins' })
  CORS_ORIGINS: string = '';
  /** Express `trust proxy`: how many proxies in front set X-Forwarded-For (0 = use the socket address). Decides the IP that anonymous rate limits count. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10) HTTP_TRUSTED_PROXIES: number = 0;
  /** Largest JSON body the API accepts. */
  @IsOptional() @Matches(/^\d+(b|kb|mb)$/i, { message: 'HTTP_BODY_LIMIT must look like 1mb or 512kb' }) HTTP_BODY_LIMIT: string = '1mb';
  @Matches(/^\s*[^=;]+=[A-Z_]+(,[A-Z_]+)*\s*(;\s*[^=;]+=[A-Z_]+(,[A-Z_]+)*\s*)*$/, {
    message: 'DEFAULT_JOBS must look like "*/*=VALIDATION;image/*=VALIDATION,CHECKSUM"',
  })
  DEFAULT_JOBS: string = '*/*=VALIDATION';
}

export class StorageEventsEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) STORAGE_EVENTS_PORT: number = 3001;
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) STORAGE_EVENTS_PREFETCH: number = 32;
  /** Shared secret of POST /v1/storage-events (MinIO webhook target, Ceph RGW HTTP push); unset disables the webhook. */
  @IsOptional() @Matches(/^[A-Za-z0-9._~-]{16,256}$/, { message: "STORAGE_WEBHOOK_TOKEN must be 16-256 URL-safe characters (A-Z a-z 0-9 . _ ~ -)" }) STORAGE_WEBHOOK_TOKEN?: string;
  /** Seconds between reconciliation passes (lost notifications, expired uploads, abandoned jobs); 0 turns it off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3600) RECONCILER_INTERVAL_SECONDS: number = 30;
  /** Sessions and jobs looked at per pass and kind. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) RECONCILER_BATCH_SIZE: number = 200;
  /** Seconds a waiting upload is left to its storage notification before the reconciler asks the store. */
  @Transform(toInt) @IsInt() @Min(1) @Max(86400) RECONCILER_GRACE_SECONDS: number = 60;
  /** Seconds a PENDING job may wait for its message before the reconciler sends it again. */
  @Transform(toInt) @IsInt() @Min(10) @Max(86400) RECONCILER_STALE_JOB_SECONDS: number = 900;
}

export class JobProcessorEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) JOB_PROCESSOR_PORT: number = 3002;
  @Matches(/^\s*(\*|[A-Z_]+(\s*,\s*[A-Z_]+)*)\s*$/, { message: 'JOB_TYPES must be * or a comma-separated list of job types' })
  JOB_TYPES: string = '*';
  @Transform(toInt) @IsInt() @Min(1) @Max(256) JOB_CONCURRENCY: number = 4;
  /** Seconds a running job holds its lease; renewed while it runs. A processor that dies loses it. */
  @Transform(toInt) @IsInt() @Min(5) @Max(3600) JOB_LEASE_SECONDS: number = 60;
  /** Milliseconds between lease renewals of a running job (how soon it notices a cancel); default a third of the lease. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) JOB_LEASE_RENEWAL_MS?: number;
  /** Default box (px) thumbnails fit in when the job's config names no `size`. */
  @Transform(toInt) @IsInt() @Min(16) @Max(2048) THUMBNAIL_SIZE: number = 256;
  /** Largest image (width × height, pixels) the image jobs decode; bounds their memory. */
  @Transform(toInt) @IsInt() @Min(1) IMAGE_MAX_PIXELS: number = 100_000_000;
}

/** Validates the environment against an env class; throws one error naming every bad variable. */
export function validateEnv<T extends object>(cls: new () => T, raw: Record<string, string | undefined>): T {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(cls, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return env;
}
