/**
 * Change tracking for LDAP directories: the contract between a mechanism that asks the server
 * what changed since a cookie (RFC 4533 content synchronisation on OpenLDAP, the DirSync control
 * on Active Directory and Samba, uSNChanged or modifyTimestamp filters elsewhere) and the entry
 * cache that keeps the directory as last read and builds complete snapshots from it.
 */
import type { RawEntry } from './transform.ts';

export type TrackerMechanism = 'syncrepl' | 'dirsync' | 'usn' | 'timestamp';

/** What one change-tracking read returned. */
export interface EntryChanges {
  /**
   * `refresh`: the server sent the complete content (no cookie was given, or it could not
   * continue from it): the cache is rebuilt from `entries`. `delta`: only what changed since
   * the cookie.
   */
  readonly kind: 'refresh' | 'delta';
  /**
   * Entries added or modified since the cookie. A tracker that returns changed attributes only
   * (DirSync) sets `partial`; the cache then replaces just the attributes given (a multi-valued
   * attribute is always given whole). Each entry carries its stable id attribute.
   */
  readonly entries: readonly RawEntry[];
  readonly partial: boolean;
  /** Stable ids (as `stableId()` formats them) of entries deleted, or moved out of the tracked base. */
  readonly deletedIds: readonly string[];
  /**
   * Stable ids of every entry still present, when the server answered with a present phase
   * instead of naming deletions (the cache drops every entry not listed); null otherwise.
   */
  readonly presentIds: readonly string[] | null;
  /** Where the next read continues from; stored only with a run that applied. */
  readonly cookie: string;
  /**
   * The server keeps group member values in step when a member is renamed, moved or deleted
   * (Active Directory's linked attributes) without reporting the groups as changed: a kept
   * group may then name a member by a DN the server no longer shows, so such a change is read
   * in full. Absent: member values stay as written (OpenLDAP without refint).
   */
  readonly linkedMembers?: boolean;
}

export interface TrackRequest {
  /** Subtree to track (the connection's base DN; DirSync needs a naming context root). */
  readonly base: string;
  readonly filter: string;
  readonly attributes: readonly string[];
  /** The cookie of the last applied run; null reads everything (`refresh`). */
  readonly cookie: string | null;
  readonly onPage?: (entries: number) => void;
}

export interface ChangeTracker {
  readonly mechanism: TrackerMechanism;
  read(request: TrackRequest): Promise<EntryChanges>;
  /**
   * A cookie that starts now, without reading the content (RFC 4533: a sync search matching
   * nothing). Taken before a full read, so a change made during that read is reported again by
   * the next `read` from it, never lost. A tracker without it is read with a null cookie instead
   * (its refresh is the full read).
   */
  begin?(request: Omit<TrackRequest, 'cookie' | 'onPage'>): Promise<string>;
}

/**
 * The server no longer accepts the stored cookie (expired session log, another server, a DC
 * restored from backup, a changed schema): the caller reads in full and records the reason.
 */
export class CookieRejectedError extends Error {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`the directory cannot continue from the stored cookie (${reason})`, options);
    this.name = 'CookieRejectedError';
    this.reason = reason;
  }
}

/**
 * The server refuses change tracking to the bind account (DirSync without the replication
 * right): the read goes on in full, the run saying why, rather than failing every sync.
 */
export interface TrackerRefused {
  readonly trackerRefused: true;
  readonly message: string;
  /** The run's readReason (default `trackerRefused`). */
  readonly reason?: string;
}

export function isTrackerRefused(error: unknown): error is TrackerRefused {
  return typeof error === 'object' && error !== null && (error as Partial<TrackerRefused>).trackerRefused === true;
}
