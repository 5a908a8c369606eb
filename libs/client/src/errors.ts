/** A field-level message from the gateway's 400 answers. */
export interface FieldError {
  field: string;
  message: string;
}

/** The gateway's error body: `{ statusCode, error, message, code?, details? }`. */
export interface GatewayErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code?: string;
  details?: FieldError[];
}

/** Base class of everything this package throws on purpose. */
export class UploadClientError extends Error {
  override name = 'UploadClientError';
}

/** The gateway answered with an error status; `details` names each offending field of a 400. */
export class GatewayError extends UploadClientError {
  override name = 'GatewayError';
  readonly statusCode: number;
  readonly code?: string;
  readonly details: FieldError[];

  constructor(
    readonly method: string,
    readonly path: string,
    readonly body: GatewayErrorBody,
  ) {
    super(GatewayError.describe(body));
    this.statusCode = body.statusCode;
    this.code = body.code;
    this.details = body.details ?? [];
  }

  /** 5xx, 429 and 408 may succeed when tried again; a 4xx will not. */
  get retryable(): boolean {
    return this.statusCode >= 500 || this.statusCode === 429 || this.statusCode === 408;
  }

  private static describe(b: GatewayErrorBody): string {
    const fields = (b.details ?? []).map((d) => `${d.field}: ${d.message}`).join('; ');
    return fields && !b.message.includes(fields) ? `${b.message} (${fields})` : b.message;
  }
}

/** The object store refused a part or file PUT (after retries, or for good). */
export class StorageError extends UploadClientError {
  override name = 'StorageError';
  constructor(
    message: string,
    readonly statusCode: number | null,
    readonly partNumber?: number,
  ) {
    super(message);
  }
}

/** The caller's AbortSignal fired; the upload was aborted on the server (unless `abortOnCancel: false`). */
export class UploadCancelledError extends UploadClientError {
  override name = 'UploadCancelledError';
  constructor(
    readonly sessionId: string | null,
    readonly abortedOnServer: boolean,
  ) {
    super(sessionId ? `upload ${sessionId} cancelled` : 'upload cancelled before it started');
  }
}

/** A session (or the wait for it) ended in a state the caller did not ask for, or a deadline passed. */
export class SessionStateError extends UploadClientError {
  override name = 'SessionStateError';
  constructor(
    message: string,
    readonly sessionId: string,
    readonly status: string,
  ) {
    super(message);
  }
}

/** A group (or the wait for it) ended in a state the caller did not ask for, or a deadline passed. */
export class GroupStateError extends UploadClientError {
  override name = 'GroupStateError';
  constructor(
    message: string,
    readonly groupId: string,
    readonly status: string,
  ) {
    super(message);
  }
}
