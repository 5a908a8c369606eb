/** Defaults of S3Settings.requestTimeoutMs and connectTimeoutMs (S3_REQUEST_TIMEOUT_SECONDS, S3_CONNECT_TIMEOUT_SECONDS). */
export const DEFAULT_S3_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_S3_CONNECT_TIMEOUT_MS = 5_000;
