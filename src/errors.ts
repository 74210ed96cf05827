/**
 * Errors with a stable code and a cause. Foreign errors (ldapts, postgres, fetch) are wrapped
 * once, at the edge that called them; everything above speaks these codes.
 */
import type { CertificateInfo } from './domain/types.ts';

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
  | 'INVALID_ARGUMENT'
  | 'INVALID_STATE'
  | 'FORBIDDEN'
  | 'STORE_FAILED';

export class GroupsyncError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GroupsyncError';
    this.code = code;
  }
}

/**
 * A refused TLS handshake, with the certificate the server showed (read before it was refused),
 * so that the SSL status can say "untrusted" or "expired" rather than nothing.
 */
export class CertificateError extends GroupsyncError {
  readonly certificate: CertificateInfo;
  constructor(message: string, certificate: CertificateInfo, options?: { cause?: unknown }) {
    super('DIRECTORY_TLS_FAILED', message, options);
    this.name = 'CertificateError';
    this.certificate = certificate;
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
