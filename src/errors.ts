/**
 * Errors with a stable code and a cause. Foreign errors (ldapts, postgres, fetch) are wrapped
 * once, at the edge that called them; everything above speaks these codes.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'DIRECTORY_UNREACHABLE'
  | 'DIRECTORY_AUTH_FAILED'
  | 'DIRECTORY_TLS_FAILED'
  | 'DIRECTORY_READ_FAILED'
  | 'DIRECTORY_NOT_FOUND'
  | 'AMBIGUOUS'
  | 'NOT_FOUND'
  | 'ALREADY_RUNNING'
  | 'AWAITING_APPROVAL'
  | 'INVALID_ARGUMENT'
  | 'INVALID_STATE'
  | 'FORBIDDEN'
  | 'STORE_FAILED';

export class GroupsyncError extends Error {
  readonly code: ErrorCode;
  /** Plain data a surface can act on (AWAITING_APPROVAL: the held run's id), never secrets. */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Readonly<Record<string, unknown>> }) {
    super(message, options);
    this.name = 'GroupsyncError';
    this.code = code;
    this.details = options?.details ?? {};
  }
}

export function isGroupsyncError(error: unknown, code?: ErrorCode): error is GroupsyncError {
  return error instanceof GroupsyncError && (code === undefined || error.code === code);
}

/** A one-line message for logs and run records; never includes a secret (callers never put one in). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    // drizzle wraps driver errors as "Failed query: <sql> params: <values>": the cause says what
    // went wrong, and the statement and its values do not belong in a run record or a card.
    if (error.message.startsWith('Failed query:') && error.cause instanceof Error) return `store: ${error.cause.message}`;
    return error.message;
  }
  return String(error);
}
