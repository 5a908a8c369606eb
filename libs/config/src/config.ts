import { createHmac } from 'node:crypto';
import { JobType, JOB_TYPES, QueueMode } from '@app/contracts';
// A type only (erased at runtime): the domain defines the rules uploads obey, config fills them from the environment.
import type { UploadPolicy } from '@app/domain';
import { amqpUrlsOf, BaseEnv, GatewayEnv, JobProcessorEnv, parseDurations, StorageEventsEnv } from './env';

/** Typed, nested configuration the code reads (never process.env directly). */
export interface CommonConfig {
  env: string;
  logLevel: string;
  database: { url: string };
  /** `urls`: every node of the broker (one for a single node); a lost connection goes on with the next. */
  amqp: { urls: string[]; queueMode: QueueMode; storageEventsExchange: string; domainEventsExchange: string };
  s3: {
    endpoint: string;
    publicEndpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
    bucket: string;
    forcePathStyle: boolean;
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    conditionalPut: boolean;
  };
  shutdownTimeoutMs: number;
  /** Where outgoing webhooks may go. */
  webhookTargets: { allowPrivate: boolean; requireHttps: boolean };
}

export interface GatewayConfig extends CommonConfig {
  port: number;
  /** Where /metrics is served: its own port, or null for the API port (GATEWAY_METRICS_PORT unset). */
  metricsPort: number | null;
  /** The upload rules as the domain takes them (UploadsModule.forRoot). */
  uploads: UploadPolicy;
  auth: {
    /** The HS256 key of bearer tokens: unset when there is none, and with a JWKS unless JWT_ALLOW_HS256_WITH_JWKS. */
    jwtSecret?: string;
    jwksUrl?: string;
    jwtIssuer?: string;
    jwtAudience?: string;
    /** Seconds; `exp` is required and at most this far ahead (and from `iat`). Unset: one day. */
    maxTokenAgeSeconds?: number;
    /** The claim (array of strings) and the role in it that grant admin. Unset: `upload_platform_roles` and `admin`. */
    adminClaim?: string;
    adminRole?: string;
  };
  bodyLimit: string;
  http: {
    /** Empty: CORS off. `['*']`: any origin. */
    corsOrigins: string[];
    trustedProxies: number;
    /** Per caller per window; 0 = off. `syncMs`: between exchanges of counts with the other replicas; 0 = per replica. */
    rateLimit: { writes: number; requests: number; windowSeconds: number; syncMs: number };
  };
  webhooks: { secretRotationGraceMs: number };
  live: LiveStreamsConfig;
}

/** Server-sent event streams of the gateway (live progress of a session or a group). */
export interface LiveStreamsConfig {
  /** Key of stream tickets; null: none configured and no JWT_SECRET to derive one from (a random key per process). */
  ticketSecret: string | null;
  ticketTtlMs: number;
  maxStreams: number;
  maxStreamsPerCaller: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
}

export interface WebhookDeliveryConfig {
  delivery: 'on' | 'off' | 'only';
  prefetch: number;
  concurrency: number;
  endpointConcurrency: number;
  timeoutMs: number;
  retryScheduleMs: number[];
  disableAfterMs: number;
  pollMs: number;
  /** An attempt's lease: past it the attempt's process is presumed dead and another takes the delivery over. */
  leaseMs: number;
}

export interface StorageEventsConfig extends CommonConfig {
  port: number;
  prefetch: number;
  /** Token of the notification webhook; null disables it. */
  webhookToken: string | null;
  reconciler: { intervalMs: number; batchSize: number; graceMs: number; stalePendingMs: number; failedObjectRetentionMs: number; dedupeRetentionMs: number };
  webhooks: WebhookDeliveryConfig;
}

export interface JobProcessorConfig extends CommonConfig {
  port: number;
  jobTypes: JobType[];
  /** Prefetch of each consumed queue but THUMBNAIL's. */
  concurrency: number;
  thumbnailConcurrency: number;
  /** CPU priority the process gives itself at start (JOB_NICE; 0: unchanged). */
  nice: number;
  timeoutMs: number;
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
    amqp: {
      urls: amqpUrlsOf(env),
      queueMode: env.AMQP_QUEUE_MODE as QueueMode,
      storageEventsExchange: env.STORAGE_EVENTS_EXCHANGE,
      domainEventsExchange: env.DOMAIN_EVENTS_EXCHANGE,
    },
    s3: {
      endpoint: env.S3_ENDPOINT,
      publicEndpoint: env.S3_PUBLIC_ENDPOINT ?? env.S3_ENDPOINT,
      region: env.S3_REGION,
      accessKeyId: env.S3_ACCESS_KEY,
      secretAccessKey: env.S3_SECRET_KEY,
      bucket: env.S3_BUCKET,
      forcePathStyle: env.S3_FORCE_PATH_STYLE,
      requestTimeoutMs: env.S3_REQUEST_TIMEOUT_SECONDS * 1000,
      connectTimeoutMs: env.S3_CONNECT_TIMEOUT_SECONDS * 1000,
      conditionalPut: env.S3_CONDITIONAL_PUT,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    webhookTargets: { allowPrivate: env.WEBHOOK_ALLOW_PRIVATE_TARGETS, requireHttps: env.WEBHOOK_REQUIRE_HTTPS ?? env.NODE_ENV === 'production' },
  };
}

function parseJobTypes(list: string, variable: string): JobType[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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
  if (env.GROUP_EXPIRY_SECONDS > env.GROUP_MAX_EXPIRY_SECONDS) {
    throw new Error(
      `Invalid configuration:\n  GROUP_EXPIRY_SECONDS (${env.GROUP_EXPIRY_SECONDS}) must not exceed GROUP_MAX_EXPIRY_SECONDS (${env.GROUP_MAX_EXPIRY_SECONDS})`,
    );
  }
  return {
    ...common(env),
    port: env.GATEWAY_PORT,
    metricsPort: env.GATEWAY_METRICS_PORT ?? null,
    uploads: {
      presignedUrlTtlSeconds: env.PRESIGNED_URL_TTL_SECONDS,
      uploadExpirySeconds: env.UPLOAD_EXPIRY_SECONDS,
      maxFileSize: env.MAX_FILE_SIZE_BYTES,
      multipartThreshold: env.MULTIPART_THRESHOLD_BYTES,
      defaultPartSize: env.DEFAULT_PART_SIZE_BYTES,
      allowedContentTypes: env.ALLOWED_CONTENT_TYPES.split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean),
      defaultJobs: parseDefaultJobs(env.DEFAULT_JOBS),
      userQuotaBytes: env.USER_QUOTA_BYTES,
      maxFilesPerGroup: env.MAX_FILES_PER_GROUP,
      groupExpirySeconds: env.GROUP_EXPIRY_SECONDS,
      maxGroupExpirySeconds: env.GROUP_MAX_EXPIRY_SECONDS,
      anonymousUploads: env.ANONYMOUS_UPLOADS,
    },
    auth: {
      jwtSecret: env.JWT_SECRET && (!env.JWKS_URL || env.JWT_ALLOW_HS256_WITH_JWKS) ? env.JWT_SECRET : undefined,
      jwksUrl: env.JWKS_URL || undefined,
      jwtIssuer: env.JWT_ISSUER || undefined,
      jwtAudience: env.JWT_AUDIENCE || undefined,
      maxTokenAgeSeconds: env.JWT_MAX_AGE_SECONDS,
      adminClaim: env.JWT_ADMIN_CLAIM,
      adminRole: env.JWT_ADMIN_ROLE,
    },
    bodyLimit: env.HTTP_BODY_LIMIT,
    http: {
      corsOrigins: env.CORS_ORIGINS.split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      trustedProxies: env.HTTP_TRUSTED_PROXIES,
      rateLimit: {
        writes: env.RATE_LIMIT_WRITES,
        requests: env.RATE_LIMIT_REQUESTS,
        windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
        syncMs: env.RATE_LIMIT_SYNC_MS,
      },
    },
    webhooks: { secretRotationGraceMs: env.WEBHOOK_SECRET_ROTATION_GRACE_SECONDS * 1000 },
    live: {
      // Derived, never JWT_SECRET itself: a ticket must not be usable as anything else, nor tell anything about that key.
      ticketSecret:
        env.SSE_TICKET_SECRET ?? (env.JWT_SECRET ? createHmac('sha256', env.JWT_SECRET).update('upload-platform stream tickets v1').digest('base64url') : null),
      ticketTtlMs: env.SSE_TICKET_TTL_SECONDS * 1000,
      maxStreams: env.SSE_MAX_STREAMS,
      maxStreamsPerCaller: env.SSE_MAX_STREAMS_PER_CALLER,
      heartbeatMs: env.SSE_HEARTBEAT_SECONDS * 1000,
      maxBufferedBytes: env.SSE_MAX_BUFFERED_BYTES,
    },
  };
}

export function storageEventsConfig(env: StorageEventsEnv): StorageEventsConfig {
  const delivery = env.WEBHOOK_DELIVERY as WebhookDeliveryConfig['delivery'];
  const timeoutMs = env.WEBHOOK_TIMEOUT_SECONDS * 1000;
  return {
    ...common(env),
    port: env.STORAGE_EVENTS_PORT,
    prefetch: env.STORAGE_EVENTS_PREFETCH,
    webhookToken: env.STORAGE_WEBHOOK_TOKEN || null,
    webhooks: {
      delivery,
      prefetch: env.WEBHOOK_EVENTS_PREFETCH,
      concurrency: env.WEBHOOK_CONCURRENCY,
      endpointConcurrency: env.WEBHOOK_ENDPOINT_CONCURRENCY,
      timeoutMs,
      retryScheduleMs: parseDurations(env.WEBHOOK_RETRY_SCHEDULE, 'WEBHOOK_RETRY_SCHEDULE'),
      disableAfterMs: env.WEBHOOK_DISABLE_AFTER_SECONDS * 1000,
      pollMs: env.WEBHOOK_POLL_INTERVAL_MS,
      // Well past the attempt's own deadline: an attempt still running then is surely dead.
      leaseMs: timeoutMs + 15_000,
    },
    reconciler: {
      // A delivery-only process leaves reconciliation to the others.
      intervalMs: delivery === 'only' ? 0 : env.RECONCILER_INTERVAL_SECONDS * 1000,
      batchSize: env.RECONCILER_BATCH_SIZE,
      graceMs: env.RECONCILER_GRACE_SECONDS * 1000,
      stalePendingMs: env.RECONCILER_STALE_JOB_SECONDS * 1000,
      failedObjectRetentionMs: env.FAILED_OBJECT_RETENTION_SECONDS * 1000,
      dedupeRetentionMs: env.STORAGE_EVENT_DEDUPE_RETENTION_SECONDS * 1000,
    },
  };
}

/** Bytes a decoded pixel may take: 4 channels of 8 bits, twice (the decoded image and its EXIF-rotated copy). */
export const BYTES_PER_DECODED_PIXEL = 8;
/** Share of the process's memory the image decoders may take together (the rest: Node, buffers, the other queues). */
export const IMAGE_MEMORY_SHARE = 0.5;

/**
 * The most pixels one image may have so that THUMBNAIL_CONCURRENCY of them decoded at once fit in the process's
 * share for images: floor(JOB_MEMORY_BYTES × 0.5 / (THUMBNAIL_CONCURRENCY × 8)). 1 GiB and 4 at once: 16,777,216
 * (a 4096 × 4096 image); a 10,000 × 10,000 bomb is refused before it is decoded.
 */
export function imagePixelBudget(memoryBytes: number, thumbnailConcurrency: number): number {
  return Math.floor((memoryBytes * IMAGE_MEMORY_SHARE) / (thumbnailConcurrency * BYTES_PER_DECODED_PIXEL));
}

export function jobProcessorConfig(env: JobProcessorEnv): JobProcessorConfig {
  const budget = imagePixelBudget(env.JOB_MEMORY_BYTES, env.THUMBNAIL_CONCURRENCY);
  if (env.IMAGE_MAX_PIXELS !== undefined && env.IMAGE_MAX_PIXELS > budget) {
    throw new Error(
      `Invalid configuration:\n  IMAGE_MAX_PIXELS: ${env.IMAGE_MAX_PIXELS} exceeds what JOB_MEMORY_BYTES (${env.JOB_MEMORY_BYTES}) allows with THUMBNAIL_CONCURRENCY ${env.THUMBNAIL_CONCURRENCY}: ` +
        `at most ${budget} (memory × ${IMAGE_MEMORY_SHARE} / (concurrency × ${BYTES_PER_DECODED_PIXEL} bytes)); raise the memory, lower the concurrency, or leave IMAGE_MAX_PIXELS unset`,
    );
  }
  return {
    ...common(env),
    port: env.JOB_PROCESSOR_PORT,
    jobTypes: env.JOB_TYPES.trim() === '*' ? [...JOB_TYPES] : parseJobTypes(env.JOB_TYPES, 'JOB_TYPES'),
    concurrency: env.JOB_CONCURRENCY,
    thumbnailConcurrency: env.THUMBNAIL_CONCURRENCY,
    nice: env.JOB_NICE,
    timeoutMs: env.JOB_TIMEOUT_SECONDS * 1000,
    leaseMs: env.JOB_LEASE_SECONDS * 1000,
    leaseRenewalMs: Math.min(env.JOB_LEASE_RENEWAL_MS ?? (env.JOB_LEASE_SECONDS * 1000) / 3, (env.JOB_LEASE_SECONDS * 1000) / 2),
    thumbnailSize: env.THUMBNAIL_SIZE,
    maxImagePixels: env.IMAGE_MAX_PIXELS ?? budget,
  };
}
