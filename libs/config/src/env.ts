import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, validateSync, ValidateBy, ValidateIf } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  return value;
};
const urlOpts = { require_tld: false, require_protocol: true };
/** One amqp(s):// URL, or several comma separated (no empty entry). */
const AMQP_URL_LIST = /^\s*amqps?:\/\/[^\s,]+(\s*,\s*amqps?:\/\/[^\s,]+)*\s*$/;

/** AMQP_URLS, else AMQP_URL, as a list (both may hold several URLs, comma separated). */
export function amqpUrlsOf(env: Pick<BaseEnv, 'AMQP_URL' | 'AMQP_URLS'>): string[] {
  return (env.AMQP_URLS ?? env.AMQP_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}

/** Values that mark a secret as a template's placeholder or a well-known default, never a real key. */
const PLACEHOLDER_SECRET = /replace[_ -]?me|change[_ -]?me|changeit|placeholder|your[_ -]?(jwt[_ -]?)?secret|example|^(secret|password|default)/i;

/**
 * Why `value` cannot be a signing secret (null: it can): at least 32 bytes (HS256 keys shorter than the hash are
 * brute-forced offline from one token), not a placeholder, not a run of a few characters repeated.
 */
export function secretWeakness(value: string): string | null {
  if (Buffer.byteLength(value, 'utf8') < 32) return 'must be at least 32 bytes of random characters (e.g. `openssl rand -base64 48`)';
  if (PLACEHOLDER_SECRET.test(value)) return 'is a placeholder or a well-known default, not a secret';
  if (new Set(value).size < 10) return 'has too few distinct characters to be random';
  return null;
}

/** A signing secret: see secretWeakness. */
function IsStrongSecret(): PropertyDecorator {
  return ValidateBy({
    name: 'isStrongSecret',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && secretWeakness(value) === null,
      defaultMessage: (args) => `${args?.property} ${typeof args?.value === 'string' ? secretWeakness(args.value) : 'must be a string'}`,
    },
  });
}

/**
 * Development defaults that production refuses (issue 16), each under the name that confirms it when it is meant
 * (PRODUCTION_ALLOWED_DEV_DEFAULTS, comma separated): a load test on one machine, a closed demo.
 */
export const DEV_DEFAULTS = ['ANONYMOUS_UPLOADS', 'CORS_ORIGINS', 'S3_DEV_KEYS', 'AMQP_GUEST'] as const;
export type DevDefault = (typeof DEV_DEFAULTS)[number];

/** The S3 keys of .env.example, docker-compose and MinIO's own default: public, never a production credential. */
const DEV_S3_KEYS = new Set(['uploads-dev-access-key', 'uploads-dev-secret-key-0000000000000000', 'minioadmin']);

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The AMQP user of a URL; none given is `guest` (amqplib's default). */
function amqpUser(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || 'guest';
  } catch {
    return '';
  }
}

/**
 * Why this environment must not run in production, one line per development default found and not confirmed:
 * anonymous uploads on, CORS for every origin, the development S3 keys, the broker's `guest` user.
 */
export function productionRefusals(env: BaseEnv & { ANONYMOUS_UPLOADS?: boolean; CORS_ORIGINS?: string }): string[] {
  if (env.NODE_ENV !== 'production') return [];
  const confirmed = new Set(listOf(env.PRODUCTION_ALLOWED_DEV_DEFAULTS));
  const found: [DevDefault, string, string][] = [];
  if (env.ANONYMOUS_UPLOADS === true)
    found.push(['ANONYMOUS_UPLOADS', 'ANONYMOUS_UPLOADS', 'is true: anyone who reaches the gateway can store files; set it to false']);
  if (env.CORS_ORIGINS !== undefined && listOf(env.CORS_ORIGINS).includes('*')) {
    found.push(['CORS_ORIGINS', 'CORS_ORIGINS', "is *: every web site may call the API from its visitors' browsers; list your origins"]);
  }
  const devKeys = (['S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const).filter((k) => DEV_S3_KEYS.has(env[k]) || PLACEHOLDER_SECRET.test(env[k]));
  if (devKeys.length > 0)
    found.push(['S3_DEV_KEYS', devKeys.join(', '), "is a development or placeholder key, published in this repository; use the store's own credentials"]);
  if (amqpUrlsOf(env).some((u) => amqpUser(u) === 'guest')) {
    found.push([
      'AMQP_GUEST',
      env.AMQP_URLS !== undefined ? 'AMQP_URLS' : 'AMQP_URL',
      "uses RabbitMQ's guest user (or no user, which is guest); give each app its own user",
    ]);
  }
  return found
    .filter(([name]) => !confirmed.has(name))
    .map(([name, variable, why]) => `  ${variable}: ${why}, or confirm it with PRODUCTION_ALLOWED_DEV_DEFAULTS=${name} (NODE_ENV=production)`);
}

/** Settings every app needs. Each app extends it with its own. */
export class BaseEnv {
  @IsIn(['development', 'production', 'test']) NODE_ENV: string = 'development';
  /** Development defaults production runs with anyway, comma separated among DEV_DEFAULTS (see productionRefusals). */
  @IsOptional()
  @Matches(new RegExp(`^\\s*(${DEV_DEFAULTS.join('|')})(\\s*,\\s*(${DEV_DEFAULTS.join('|')}))*\\s*$`), {
    message: `PRODUCTION_ALLOWED_DEV_DEFAULTS must be a comma-separated list of ${DEV_DEFAULTS.join(', ')}`,
  })
  PRODUCTION_ALLOWED_DEV_DEFAULTS?: string;
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace']) LOG_LEVEL: string = 'info';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' }) DATABASE_URL!: string;
  /** The broker, or a cluster's nodes comma separated (tried in turn: a lost connection fails over to the next). */
  @ValidateIf((env: BaseEnv) => env.AMQP_URLS === undefined)
  @Matches(AMQP_URL_LIST, { message: 'AMQP_URL must be an amqp:// URL, or a comma-separated list of them (one per cluster node)' })
  AMQP_URL?: string;
  /** A cluster's nodes, comma separated amqp:// URLs; takes precedence over AMQP_URL. */
  @IsOptional() @Matches(AMQP_URL_LIST, { message: 'AMQP_URLS must be a comma-separated list of amqp:// URLs (one per cluster node)' }) AMQP_URLS?: string;
  /** classic: one node's queues (default); quorum: replicated quorum queues for a RabbitMQ cluster, jobs in priority bands. */
  @IsIn(['classic', 'quorum'], { message: 'AMQP_QUEUE_MODE must be classic or quorum' }) AMQP_QUEUE_MODE: string = 'classic';
  @IsString() @Matches(/^[\w.:-]+$/) STORAGE_EVENTS_EXCHANGE: string = 'storage.events';
  @IsString() @Matches(/^[\w.:-]+$/) DOMAIN_EVENTS_EXCHANGE: string = 'uploads.events';

  @IsUrl(urlOpts) S3_ENDPOINT!: string;
  @IsOptional() @IsUrl(urlOpts) S3_PUBLIC_ENDPOINT?: string;
  @IsString() S3_REGION: string = 'us-east-1';
  @IsString() S3_ACCESS_KEY!: string;
  @IsString() S3_SECRET_KEY!: string;
  @Matches(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'S3_BUCKET must be a valid bucket name' }) S3_BUCKET!: string;
  @Transform(toBool) @IsBoolean() S3_FORCE_PATH_STYLE: boolean = true;
  /** Seconds the store has to answer one request (until its headers) before the call fails; CompleteMultipartUpload gets ten times as long. */
  @Transform(toInt) @IsInt() @Min(1) @Max(600) S3_REQUEST_TIMEOUT_SECONDS: number = 30;
  /** Seconds to connect to the store before the call fails. */
  @Transform(toInt) @IsInt() @Min(1) @Max(120) S3_CONNECT_TIMEOUT_SECONDS: number = 5;
  /** Sign `If-None-Match: *` into pre-signed PUTs (one write per URL). Off only for a store that refuses the header. */
  @Transform(toBool) @IsBoolean() S3_CONDITIONAL_PUT: boolean = true;

  /** Seconds a graceful shutdown may take before the process exits anyway. */
  @Transform(toInt) @IsInt() @Min(1) @Max(600) SHUTDOWN_TIMEOUT_SECONDS: number = 25;

  // ---- Outgoing webhooks: where they may go (checked by the gateway at subscription, and by the delivering app at connect)
  /** Lets webhooks target loopback, private, link-local and CGNAT addresses. Development and tests only. */
  @Transform(toBool) @IsBoolean() WEBHOOK_ALLOW_PRIVATE_TARGETS: boolean = false;
  /** Only https subscription URLs; unset: on when NODE_ENV=production. */
  @IsOptional() @Transform(toBool) @IsBoolean() WEBHOOK_REQUIRE_HTTPS?: boolean;
}

/** `5s,5m,30m,2h,5h,10h` → milliseconds; throws naming the bad entry. */
export function parseDurations(spec: string, variable: string): number[] {
  const unit: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return spec.split(',').map((part) => {
    const m = /^\s*(\d+)(ms|s|m|h|d)\s*$/.exec(part);
    if (!m) throw new Error(`Invalid configuration:\n  ${variable}: "${part.trim()}" is not a duration like 500ms, 5s, 5m, 2h or 1d`);
    return Number(m[1]) * unit[m[2]];
  });
}

export class GatewayEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) GATEWAY_PORT: number = 3000;
  /**
   * Serve /metrics on this port only (its own listener), not on GATEWAY_PORT, which the Internet reaches. Unset: on
   * GATEWAY_PORT as before (development); deployments set it and keep the port off the ingress (k8s/: 9102 and a NetworkPolicy).
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) @Max(65535) GATEWAY_METRICS_PORT?: number;
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
  /** Seconds a new upload group has to receive all its files (`expiresInSeconds` of POST /v1/groups overrides it); the reconciler then ends it FAILED (EXPIRED). */
  @Transform(toInt) @IsInt() @Min(60) GROUP_EXPIRY_SECONDS: number = 86400;
  /** Most seconds a caller may ask for with `expiresInSeconds`. */
  @Transform(toInt) @IsInt() @Min(60) GROUP_MAX_EXPIRY_SECONDS: number = 7 * 86400;
  @Transform(toBool) @IsBoolean() ANONYMOUS_UPLOADS: boolean = false;
  /** HS256 key of bearer tokens. Any value given is checked (32+ bytes, no placeholder), whatever else is set. */
  @ValidateIf((env: GatewayEnv) => (!env.ANONYMOUS_UPLOADS && !env.JWKS_URL) || env.JWT_SECRET !== undefined)
  @IsString({ message: 'JWT_SECRET or JWKS_URL is required when ANONYMOUS_UPLOADS is off' })
  @IsStrongSecret()
  JWT_SECRET?: string;
  @IsOptional() @IsUrl(urlOpts) JWKS_URL?: string;
  /** With JWKS_URL, HS256 tokens (JWT_SECRET) are refused unless this says otherwise: one shared secret beside an identity provider is one more key that mints any user. */
  @Transform(toBool) @IsBoolean() JWT_ALLOW_HS256_WITH_JWKS: boolean = false;
  /** Tokens must carry this `iss`; required with JWKS_URL (an identity provider signs tokens for other services too). */
  @ValidateIf((env: GatewayEnv) => !!env.JWKS_URL || env.JWT_ISSUER !== undefined)
  @IsString({ message: 'JWT_ISSUER is required with JWKS_URL' })
  JWT_ISSUER?: string;
  /** Tokens must carry this `aud`; required with JWKS_URL. */
  @ValidateIf((env: GatewayEnv) => !!env.JWKS_URL || env.JWT_AUDIENCE !== undefined)
  @IsString({ message: 'JWT_AUDIENCE is required with JWKS_URL' })
  JWT_AUDIENCE?: string;
  /** Longest a token may live: its `exp` (required) at most this far from now, and from its `iat` when it has one. */
  @Transform(toInt) @IsInt() @Min(60) @Max(30 * 86400) JWT_MAX_AGE_SECONDS: number = 86400;
  /** Claim (an array of strings) whose JWT_ADMIN_ROLE grants admin: this service's own, not a generic `roles` other services share. */
  @Matches(/^[\w.:/-]{1,128}$/, { message: 'JWT_ADMIN_CLAIM must be a claim name (letters, digits, _ . : / -)' }) JWT_ADMIN_CLAIM: string =
    'upload_platform_roles';
  @Matches(/^[\w.:/-]{1,64}$/, { message: 'JWT_ADMIN_ROLE must be a role name (letters, digits, _ . : / -)' }) JWT_ADMIN_ROLE: string = 'admin';
  /** Bytes each user may hold in sessions that are not FAILED or DELETED (declared sizes); 0 = unlimited. Anonymous sessions are not counted. */
  @Transform(toInt) @IsInt() @Min(0) USER_QUOTA_BYTES: number = 0;
  /** Requests that create or change something (every non-GET route, and GETs marked as creating), per caller per window; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) RATE_LIMIT_WRITES: number = 120;
  /** Requests of any kind per caller per window; 0 = no limit. */
  @Transform(toInt) @IsInt() @Min(0) RATE_LIMIT_REQUESTS: number = 1200;
  /** The window of both rate limits. Callers are counted by user id, anonymous ones by client IP. */
  @Transform(toInt) @IsInt() @Min(1) @Max(86400) RATE_LIMIT_WINDOW_SECONDS: number = 60;
  /** Milliseconds between two exchanges of rate-limit counts with the other gateway replicas (through Postgres); 0 = each replica counts alone. */
  @Transform(toInt)
  @IsInt()
  @ValidateIf((env: GatewayEnv) => env.RATE_LIMIT_SYNC_MS !== 0)
  @Min(100, { message: 'RATE_LIMIT_SYNC_MS must be 0 (off) or 100 to 60000' })
  @Max(60_000, { message: 'RATE_LIMIT_SYNC_MS must be 0 (off) or 100 to 60000' })
  RATE_LIMIT_SYNC_MS: number = 1000;
  /** Browser origins allowed by CORS (comma-separated, or *); empty = no CORS headers at all. */
  @ValidateIf((env: GatewayEnv) => env.CORS_ORIGINS !== '')
  @Matches(/^\s*(\*|https?:\/\/[^\s,]+(\s*,\s*https?:\/\/[^\s,]+)*)\s*$/, { message: 'CORS_ORIGINS must be * or a comma-separated list of http(s) origins' })
  CORS_ORIGINS: string = '';
  /** Express `trust proxy`: how many proxies in front set X-Forwarded-For (0 = use the socket address). Decides the IP that anonymous rate limits count. */
  @Transform(toInt) @IsInt() @Min(0) @Max(10) HTTP_TRUSTED_PROXIES: number = 0;
  /** Largest JSON body the API accepts. */
  @IsOptional() @Matches(/^\d+(b|kb|mb)$/i, { message: 'HTTP_BODY_LIMIT must look like 1mb or 512kb' }) HTTP_BODY_LIMIT: string = '1mb';
  @Matches(/^\s*[^=;]+=[A-Z_]+(,[A-Z_]+)*\s*(;\s*[^=;]+=[A-Z_]+(,[A-Z_]+)*\s*)*$/, {
    message: 'DEFAULT_JOBS must look like "*/*=VALIDATION;image/*=VALIDATION,CHECKSUM"',
  })
  DEFAULT_JOBS: string = '*/*=VALIDATION';
  /** Seconds the previous secret of a webhook keeps signing (a second signature) after POST /v1/webhooks/:id/rotate-secret. */
  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400) WEBHOOK_SECRET_ROTATION_GRACE_SECONDS: number = 86400;

  // ---- Live progress: server-sent events (GET /v1/uploads/:id/events, GET /v1/groups/:id/events)
  /** Key that signs stream tickets; every replica needs the same. Unset: derived from JWT_SECRET (or, outside production, random per process). */
  @ValidateIf((env: GatewayEnv) => env.SSE_TICKET_SECRET !== undefined || (env.NODE_ENV === 'production' && !env.JWT_SECRET))
  @IsString({ message: 'SSE_TICKET_SECRET is required in production when JWT_SECRET is not set: every gateway replica must share the key of stream tickets' })
  @Matches(/^.{16,}$/, { message: 'SSE_TICKET_SECRET must be at least 16 characters (32+ random ones recommended)' })
  SSE_TICKET_SECRET?: string;
  /** Seconds a stream ticket may be used to open (or reopen) its stream. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3600) SSE_TICKET_TTL_SECONDS: number = 60;
  /** Open event streams per gateway replica; 429 beyond. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100_000) SSE_MAX_STREAMS: number = 2000;
  /** Open event streams per caller (user, upload token or client IP) per replica; 429 beyond. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10_000) SSE_MAX_STREAMS_PER_CALLER: number = 16;
  /** Seconds between heartbeat comments on an idle stream (keeps proxies from closing it). */
  @Transform(toInt) @IsInt() @Min(1) @Max(300) SSE_HEARTBEAT_SECONDS: number = 15;
  /** Bytes a stream may have waiting for a slow reader before it is closed (the reader reconnects and gets a snapshot). */
  @Transform(toInt) @IsInt() @Min(1024) @Max(64 * 1024 ** 2) SSE_MAX_BUFFERED_BYTES: number = 256 * 1024;
}

export class StorageEventsEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) STORAGE_EVENTS_PORT: number = 3001;
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) STORAGE_EVENTS_PREFETCH: number = 32;
  /** Shared secret of POST /v1/storage-events (MinIO webhook target, Ceph RGW HTTP push); unset disables the webhook. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9._~-]{16,256}$/, { message: 'STORAGE_WEBHOOK_TOKEN must be 16-256 URL-safe characters (A-Z a-z 0-9 . _ ~ -)' })
  STORAGE_WEBHOOK_TOKEN?: string;
  /** Seconds between reconciliation passes (lost notifications, expired uploads, abandoned jobs); 0 turns it off. */
  @Transform(toInt) @IsInt() @Min(0) @Max(3600) RECONCILER_INTERVAL_SECONDS: number = 30;
  /** Sessions and jobs looked at per pass and kind. */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000) RECONCILER_BATCH_SIZE: number = 200;
  /** Seconds a waiting upload is left to its storage notification before the reconciler asks the store. */
  @Transform(toInt) @IsInt() @Min(1) @Max(86400) RECONCILER_GRACE_SECONDS: number = 60;
  /**
   * Seconds a PENDING job may be due while its type's queue holds no ready message before the reconciler sends its
   * message again (it was lost). Never while the queue holds a backlog: a long backlog is not duplicated.
   */
  @Transform(toInt) @IsInt() @Min(10) @Max(86400) RECONCILER_STALE_JOB_SECONDS: number = 120;
  /**
   * Seconds the bytes of a FAILED upload (its object, thumbnails, multipart parts) stay in the store before the
   * reconciler deletes them; 0 = at its next pass. Their quota is given back when the upload fails.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400) FAILED_OBJECT_RETENTION_SECONDS: number = 0;
  /**
   * Seconds the identity of an applied storage notification is kept to recognise its replays. Must stay well above
   * how long a notification can still come again: the broker's redelivery (a message held while storage-events is
   * down), the store's own retries (MinIO's queue_dir, AWS's at-least-once). Older rows are pruned in small batches.
   */
  @Transform(toInt) @IsInt() @Min(86400) @Max(365 * 86400) STORAGE_EVENT_DEDUPE_RETENTION_SECONDS: number = 7 * 86400;

  // ---- Outgoing webhook delivery (this app runs it; see the README for why)
  /** on: this process also delivers webhooks; off: it does not; only: it does nothing else (no storage notifications, no reconciler). */
  @IsIn(['on', 'off', 'only']) WEBHOOK_DELIVERY: string = 'on';
  /** Domain events taken from the webhooks.events queue at once (prefetch). */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) WEBHOOK_EVENTS_PREFETCH: number = 32;
  /** Webhook attempts in flight at once in this process. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000) WEBHOOK_CONCURRENCY: number = 32;
  /** Webhook attempts in flight at once per subscription, over every delivering process: one slow receiver never takes every slot. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100) WEBHOOK_ENDPOINT_CONCURRENCY: number = 4;
  /** Seconds a receiver has to answer (connect, send, status and headers). */
  @Transform(toInt) @IsInt() @Min(1) @Max(60) WEBHOOK_TIMEOUT_SECONDS: number = 10;
  /** Waits between attempts (exponential backoff, ±20% jitter added): 7 attempts over about 17.6 hours by default. */
  @Matches(/^\s*\d+(ms|s|m|h|d)\s*(,\s*\d+(ms|s|m|h|d)\s*){0,19}$/, {
    message: 'WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated durations like 5s,5m,30m,2h,5h,10h',
  })
  WEBHOOK_RETRY_SCHEDULE: string = '5s,5m,30m,2h,5h,10h';
  /** A subscription whose every attempt has failed for this many seconds is disabled (a webhook.disabled event says so). */
  @Transform(toInt) @IsInt() @Min(1) @Max(90 * 86400) WEBHOOK_DISABLE_AFTER_SECONDS: number = 5 * 86400;
  /** Milliseconds between looks for due deliveries (new events and replays are also picked up at once in the process that took them). */
  @Transform(toInt) @IsInt() @Min(50) @Max(60_000) WEBHOOK_POLL_INTERVAL_MS: number = 1000;
}

export class JobProcessorEnv extends BaseEnv {
  @Transform(toInt) @IsInt() @Min(1) @Max(65535) JOB_PROCESSOR_PORT: number = 3002;
  @Matches(/^\s*(\*|[A-Z_]+(\s*,\s*[A-Z_]+)*)\s*$/, { message: 'JOB_TYPES must be * or a comma-separated list of job types' })
  JOB_TYPES: string = '*';
  /** Handlers of a type running at once (THUMBNAIL: THUMBNAIL_CONCURRENCY); a queue's consumer holds twice as many messages. */
  @Transform(toInt) @IsInt() @Min(1) @Max(256) JOB_CONCURRENCY: number = 32;
  /**
   * The processor's CPU priority (nice, 0–19; 0 leaves it as started): jobs are throughput work, so on a host they
   * share with the gateway, storage-events, Postgres or RabbitMQ, the request and notification paths run first.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(19) JOB_NICE: number = 10;
  /** THUMBNAIL handlers running at once: each decodes an image (memory up to IMAGE_MAX_PIXELS × 8 bytes). */
  @Transform(toInt) @IsInt() @Min(1) @Max(256) THUMBNAIL_CONCURRENCY: number = 4;
  /**
   * Longest a job may run before it is stopped and retried. Keep it below the broker's consumer acknowledgement
   * timeout (RabbitMQ's consumer_timeout, 30 minutes by default), which closes the channel of a message held longer.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(86_400) JOB_TIMEOUT_SECONDS: number = 900;
  /** Seconds a running job holds its lease; renewed while it runs. A processor that dies loses it. */
  @Transform(toInt) @IsInt() @Min(5) @Max(3600) JOB_LEASE_SECONDS: number = 60;
  /** Milliseconds between lease renewals of a running job (how soon it notices a cancel); default a third of the lease. */
  @IsOptional() @Transform(toInt) @IsInt() @Min(100) JOB_LEASE_RENEWAL_MS?: number;
  /** Default box (px) thumbnails fit in when the job's config names no `size`. */
  @Transform(toInt) @IsInt() @Min(16) @Max(2048) THUMBNAIL_SIZE: number = 256;
  /** Memory this process may use (its container's limit): sizes IMAGE_MAX_PIXELS. */
  @Transform(toInt) @IsInt() @Min(128 * 1024 ** 2) JOB_MEMORY_BYTES: number = 1024 ** 3;
  /**
   * Largest image (width × height, pixels) the image jobs decode; bounds their memory. Unset: sized from memory and
   * concurrency (imagePixelBudget); a value above that budget is refused.
   */
  @IsOptional() @Transform(toInt) @IsInt() @Min(1) IMAGE_MAX_PIXELS?: number;
}

/** Validates the environment against an env class; throws one error naming every bad variable. */
export function validateEnv<T extends object>(cls: new () => T, raw: Record<string, string | undefined>): T {
  const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const env = plainToInstance(cls, present, { exposeDefaultValues: true });
  const errors = validateSync(env, { whitelist: false, forbidUnknownValues: false });
  const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  if (env instanceof BaseEnv) lines.push(...productionRefusals(env));
  if (lines.length > 0) throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
  return env;
}
