import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { redactSecrets } from '@app/config';
import { isDatabaseUnavailable } from '@app/database';
import { assertNever, DomainError, DomainErrorCode } from '@app/domain';

/** Every domain code has its HTTP status, chosen here and only here. */
export function httpStatusOf(code: DomainErrorCode): number {
  switch (code) {
    case DomainErrorCode.INVALID_INPUT:
    case DomainErrorCode.CONTENT_TYPE_NOT_ALLOWED:
    case DomainErrorCode.FILE_TOO_LARGE:
      return HttpStatus.BAD_REQUEST;
    case DomainErrorCode.UNAUTHENTICATED:
      return HttpStatus.UNAUTHORIZED;
    case DomainErrorCode.QUOTA_EXCEEDED:
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case DomainErrorCode.SESSION_NOT_FOUND:
    case DomainErrorCode.GROUP_NOT_FOUND:
    case DomainErrorCode.JOB_NOT_FOUND:
    case DomainErrorCode.WEBHOOK_NOT_FOUND:
    case DomainErrorCode.WEBHOOK_DELIVERY_NOT_FOUND:
      return HttpStatus.NOT_FOUND;
    case DomainErrorCode.SESSION_STATE_CONFLICT:
    case DomainErrorCode.GROUP_STATE_CONFLICT:
    case DomainErrorCode.JOB_STATE_CONFLICT:
    case DomainErrorCode.OBJECT_NOT_IN_STORAGE:
    case DomainErrorCode.WEBHOOK_STATE_CONFLICT:
      return HttpStatus.CONFLICT;
    case DomainErrorCode.UPLOAD_EXPIRED:
      return HttpStatus.GONE;
    case DomainErrorCode.MALFORMED_MESSAGE:
    case DomainErrorCode.UNKNOWN_OBJECT:
      return HttpStatus.INTERNAL_SERVER_ERROR;
    default:
      return assertNever(code);
  }
}

interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  details?: { field: string; message: string }[];
}

/**
 * Errors as `{ statusCode, error, message, details? }`. Domain errors by their code; HTTP errors raised by
 * the framework (unknown route, unparseable or oversized body) keep their 4xx; an unreachable database
 * is a 503 with Retry-After; anything else is a logged 500 that reveals nothing.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception, res);
    if (res.headersSent) return;
    res.status(body.statusCode).json(body);
  }

  private toBody(e: unknown, res: Response): ErrorBody {
    if (e instanceof DomainError) {
      const statusCode = httpStatusOf(e.code);
      return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: e.message, code: e.code, ...(e.details ? { details: e.details } : {}) };
    }
    if (e instanceof HttpException) {
      const statusCode = e.getStatus();
      const r = e.getResponse();
      const message = typeof r === 'string' ? r : ((r as { message?: unknown }).message ?? e.message);
      return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: Array.isArray(message) ? message.join('; ') : String(message) };
    }
    // body-parser errors (bad JSON, too large) carry their own 4xx status.
    const status = (e as { status?: unknown; statusCode?: unknown })?.status ?? (e as { statusCode?: unknown })?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const type = (e as { type?: unknown }).type;
      const message =
        type === 'entity.parse.failed' ? 'body is not valid JSON' : type === 'entity.too.large' ? 'body is too large' : (STATUS_CODES[status] ?? 'Bad request');
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    }
    if (isDatabaseUnavailable(e)) {
      res.setHeader('Retry-After', '5');
      return { statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; retry shortly' };
    }
    this.logger.error(redactSecrets(e instanceof Error ? (e.stack ?? e.message) : String(e)));
    return { statusCode: 500, error: 'Internal Server Error', message: 'internal error' };
  }
}
