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
  | 'AWAITING_APPROVAL'
  | 'INVALID_ARGUMENT'
  | 'INVALID_STATE'
  | 'FORBIDDEN'
  | 'STORE_FAILED'
  /** The worker thread running a sync stopped without an answer (crashed, killed, out of memory). */
  | 'SYNC_WORKER_FAILED';

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

/** Input echoed in a message, clipped: a 100 KB argument is not printed back in full. */
export function clip(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** One line, for run records and logs: servers' diagnostics (AD's) hold newlines, tabs and NULs. */
export function oneLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/** Levenshtein distance, for "did you mean" answers. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The few names closest to what was typed (case-insensitive): those that contain it or are
 * contained in it first, then those a few edits away; never a whole list.
 */
export function closestNames(typed: string, names: readonly string[], limit = 5): string[] {
  const wanted = typed.toLowerCase().slice(0, 64);
  const reach = Math.max(2, Math.floor(wanted.length / 3));
  return [...new Set(names)]
    .map((name) => {
      const candidate = name.toLowerCase().slice(0, 64);
      const contains = candidate.includes(wanted) || wanted.includes(candidate);
      return { name, score: contains ? Math.abs(candidate.length - wanted.length) / 100 : editDistance(wanted, candidate) };
    })
    .filter((c) => c.score <= reach)
    .sort((x, y) => x.score - y.score || x.name.localeCompare(y.name))
    .slice(0, limit)
    .map((c) => clip(c.name));
}
