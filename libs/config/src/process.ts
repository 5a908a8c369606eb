import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { validateEnv } from './env';

/** Validates the environment; on a bad value prints which variables are wrong and exits (no stack trace). */
export function loadConfigOrExit<E extends object, C>(envClass: new () => E, toConfig: (env: E) => C): C {
  try {
    return toConfig(validateEnv(envClass, process.env));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(78); // EX_CONFIG
  }
}

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Structured JSON logs, one object per line. */
export function jsonLogger(level: string, app: string): ConsoleLogger {
  const max = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 }[level] ?? 3;
  return new ConsoleLogger(app, { json: true, logLevels: LEVELS.slice(0, max + 1), colors: false });
}

/** After SIGTERM/SIGINT, exit anyway once the graceful shutdown has taken `ms`. */
export function installShutdownDeadline(ms: number): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      setTimeout(() => {
        console.error(`graceful shutdown took longer than ${ms} ms; exiting`);
        process.exit(1);
      }, ms).unref();
    });
  }
}

/**
 * Masks what must never reach a log: bearer tokens and other JWTs, pre-signed URL signatures and
 * credentials, upload tokens in headers. For text that may quote a request or an error from the store.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]')
    .replace(/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted-jwt]')
    .replace(/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|AWSAccessKeyId)=)[^&\s"']+/gi, '$1[redacted]')
    .replace(/(x-upload-token["']?\s*[:=]\s*["']?)[^"'\s,}]+/gi, '$1[redacted]');
}
