import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorBody } from './error-body.dto';

const WHY: Record<number, string> = {
  400: 'invalid input: `details` names each offending field',
  401: 'the bearer token is malformed, expired or not accepted',
  404: 'no such resource, or it belongs to someone else',
  409: 'the resource is not in a state that allows this',
  410: 'the upload expired (`expiresAt` has passed; code `UPLOAD_EXPIRED`): start a new upload',
  503: 'the database is unavailable; retry after Retry-After seconds',
};

/** Documents the error answers of a route, all in the ErrorBody shape of HttpErrorFilter. */
export function ApiErrors(...statuses: (keyof typeof WHY)[]) {
  return applyDecorators(...statuses.map((status) => ApiResponse({ status, description: WHY[status], type: ErrorBody })));
}
