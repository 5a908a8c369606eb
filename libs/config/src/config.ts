import { JobType, JOB_TYPES } from '@app/contracts';
import { BaseEnv, GatewayEnv, JobProcessorEnv, StorageEventsEnv } from './env';

/** Typed, nested configuration the code reads (never process.env directly). */
export interface CommonConfig {
  env: string;
  logLevel: string;
  database: { url: string };
  amqp: { url: string; storageEventsExchange: string; domainEventsExchange: string };
  s3: { endpoint: string; publicEndpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string; forcePathStyle: boolean };
  shutdownTimeoutMs: number;
}

export interface UploadRules {
  presignedUrlTtlSeconds: number;
  uploadExpirySeconds: number;
  maxFileSize: number;
  multipartThreshold: number;
  defaultPartSize: number;
  allowedContentTypes: string[];
  defaultJobs: { pattern: string; jobs: JobType[] }[];
  /** 0 = unlimited. */
  userQuotaBytes: number;
  maxFilesPerGroup: number;
}

export interface GatewayConfig extends CommonConfig {
  port: number;
  uploads: UploadRules;
  auth: { anonymousUploads: boolean; jwtSecret?: string; jwksUrl?: string; jwtIssuer?: string; jwtAudience?: string };
  bodyLimit: string;
  http: {
    /** Empty: CORS off. `['*']`: any origin. */
    corsOrigins: string[];
    trustedProxies: number;
    /** Per caller per window; 0 = off. `syncMs`: between exchanges of counts with the other replicas; 0 = per replica. */
    rateLimit: { writes: number; requests: number; windowSeconds: number; syncMs: number };
  };
}

export interface StorageEventsConfig extends CommonConfig {
  port: number;
  prefetch: number;
  /** Token of the notification webhook; null disables it. */
  webhookToken: string | null;
  reconciler: { intervalMs: number; batchSize: number; graceMs: number; stalePendingMs: number };
}

export interface JobProcessorConfig extends CommonConfig {
  port: number;
  jobTypes: JobType[];
  concurrency: number;
  leaseMs: number;
  leaseRenewalMs: number;
  thumbnailSize: number;
  maxImagePixels: number;
}

function common(env: BaseEnv): CommonConfig {
  return {
    env: env.NODE_ENV,
    logLevel: env.LOG_LEVEL,
    database: { url: env.DATABASE_URL },
    amqp: { url: env.AMQP_URL, storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE, domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE },
    s3: {
      endpoint: env.S3_ENDPOINT,
      publicEndpoint: env.S3_PUBLIC_ENDPOINT ?? env.S3_ENDPOINT,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY,
      secretAccessKey: env.S3_SECRET_KEY,
      bucket: env.S3_BUCKET,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  };
}

function parseJobTypes(list: string, variable: string): JobType[] {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !JOB_TYPES.includes(n as JobType));
  if (unknown.length > 0) throw new Error(`Invalid configuration:\n  ${variable}: unknown job type(s) ${unknown.join(', ')}; known: ${JOB_TYPES.join(', ')}`);
  return names as JobType[];
}

/** `*\/*=VALIDATION;image/*=VALIDATION,CHECKSUM` → ordered rules, most specific first. */
export function parseDefaultJobs(spec: string): { pattern: string; jobs: JobType[] }[] {
  return spec
    .split(';')
    .map((rule) => rule.trim())
    .filter(Boolean)
    .map((rule) => {
      const [pattern, jobs] = rule.split('=');
      return { pattern: pattern.trim().toLowerCase(), jobs: parseJobTypes(jobs, 'DEFAULT_JOBS') };
    });
}

export function gatewayConfig(env: GatewayEnv): GatewayConfig {
  return {
    ...common(env),
    port: env.GATEWAY_PORT,
    uploads: {
      presignedUrlTtlSeconds: env.PRESIGNED_URL_TTL_SECONDS,
      uploadExpirySeconds: env.UPLOAD_EXPIRY_SECONDS,
      maxFileSize: env.MAX_FILE_SIZE_BYTES,
      multipartThreshold: env.MULTIPART_THRESHOLD_BYTES,
      defaultPartSize: env.DEFAULT_PART_SIZE_BYTES,
      allowedContentTypes: env.ALLOWED_CONTENT_TYPES.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean),
      defaultJobs: parseDefaultJobs(env.DEFAULT_JOBS),
      userQuotaBytes: env.USER_QUOTA_BYTES,
      maxFilesPerGroup: env.MAX_FILES_PER_GROUP,
    },
    auth: {
      anonymousUploads: env.ANONYMOUS_UPLOADS,
      jwtSecret: env.JWT_SECRET || undefined,
      jwksUrl: env.JWKS_URL || undefined,
      jwtIssuer: env.JWT_ISSUER || undefined,
      jwtAudience: env.JWT_AUDIENCE || undefined,
    },
    bodyLimit: env.HTTP_BODY_LIMIT,
    http: {
      corsOrigins: env.CORS_ORIGINS.split(',').map((s) => s.trim()).filter(Boolean),
      trustedProxies: env.HTTP_TRUSTED_PROXIES,
      rateLimit: { writes: env.RATE_LIMIT_WRITES, requests: env.RATE_LIMIT_REQUESTS, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS, syncMs: env.RATE_LIMIT_SYNC_MS },
    },
  };
}

export function storageEventsConfig(env: StorageEventsEnv): StorageEventsConfig {
  return {
    ...common(env),
    port: env.STORAGE_EVENTS_PORT,
    prefetch: env.STORAGE_EVENTS_PREFETCH,
    webhookToken: env.STORAGE_WEBHOOK_TOKEN || null,
    reconciler: {
      intervalMs: env.RECONCILER_INTERVAL_SECONDS * 1000,
      batchSize: env.RECONCILER_BATCH_SIZE,
      graceMs: env.RECONCILER_GRACE_SECONDS * 1000,
      stalePendingMs: env.RECONCILER_STALE_JOB_SECONDS * 1000,
    },
  };
}

export function jobProcessorConfig(env: JobProcessorEnv): JobProcessorConfig {
  return {
    ...common(env),
    port: env.JOB_PROCESSOR_PORT,
    jobTypes: env.JOB_TYPES.trim() === '*' ? [...JOB_TYPES] : parseJobTypes(env.JOB_TYPES, 'JOB_TYPES'),
    concurrency: env.JOB_CONCURRENCY,
    leaseMs: env.JOB_LEASE_SECONDS * 1000,
    leaseRenewalMs: Math.min(env.JOB_LEASE_RENEWAL_MS ?? (env.JOB_LEASE_SECONDS * 1000) / 3, (env.JOB_LEASE_SECONDS * 1000) / 2),
    thumbnailSize: env.THUMBNAIL_SIZE,
    maxImagePixels: env.IMAGE_MAX_PIXELS,
  };
}
