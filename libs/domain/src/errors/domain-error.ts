/**
 * Errors the domain raises. Edges map every code exhaustively: the gateway to HTTP statuses,
 * consumers to ack / retry / dead-letter. Domain code never throws transport exceptions.
 */
export enum DomainErrorCode {
  // Input
  INVALID_INPUT = 'INVALID_INPUT',
  CONTENT_TYPE_NOT_ALLOWED = 'CONTENT_TYPE_NOT_ALLOWED',
  FILE_TOO_LARGE = 'FILE_TOO_LARGE',
  // Identity and limits
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
  // Upload sessions
  SESSION_NOT_FOUND = 'SESSION_NOT_FOUND',
  SESSION_STATE_CONFLICT = 'SESSION_STATE_CONFLICT',
  /** Past the session's `expiresAt`: it takes no more parts and cannot be completed (410). */
  UPLOAD_EXPIRED = 'UPLOAD_EXPIRED',
  OBJECT_NOT_IN_STORAGE = 'OBJECT_NOT_IN_STORAGE',
  // Groups
  GROUP_NOT_FOUND = 'GROUP_NOT_FOUND',
  GROUP_STATE_CONFLICT = 'GROUP_STATE_CONFLICT',
  // Jobs
  JOB_NOT_FOUND = 'JOB_NOT_FOUND',
  JOB_STATE_CONFLICT = 'JOB_STATE_CONFLICT',
  // Outgoing webhooks
  WEBHOOK_NOT_FOUND = 'WEBHOOK_NOT_FOUND',
  WEBHOOK_DELIVERY_NOT_FOUND = 'WEBHOOK_DELIVERY_NOT_FOUND',
  WEBHOOK_STATE_CONFLICT = 'WEBHOOK_STATE_CONFLICT',
  // Messages
  MALFORMED_MESSAGE = 'MALFORMED_MESSAGE',
  UNKNOWN_OBJECT = 'UNKNOWN_OBJECT',
}

export interface FieldProblem {
  field: string;
  message: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details?: FieldProblem[],
  ) {
    super(message);
    this.name = 'DomainError';
  }

  static invalid(details: FieldProblem[]): DomainError {
    return new DomainError(DomainErrorCode.INVALID_INPUT, details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
}

/** Exhaustiveness check for switches over enums. */
export function assertNever(value: never): never {
  throw new Error(`Unhandled case: ${String(value)}`);
}
