import type { OpenApiInfo } from '@app/observability';

export const GATEWAY_OPENAPI: OpenApiInfo = {
  title: 'Upload gateway',
  description:
    'Direct-to-S3 uploads with pre-signed URLs. Identity: `Authorization: Bearer <JWT>`, or anonymous with the `X-Upload-Token` ' +
    "returned when the upload was created. Someone else's resource answers 404. Errors: `{ statusCode, error, message, code?, details? }`.",
  version: '1',
  gatewaySecurity: true,
};
