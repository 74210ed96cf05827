/**
 * Plain data shared by every part of groupsync. No framework types here:
 * the directory sources, the sync engine, the store and the surfaces all speak these.
 */

export type ConnectionKind = 'ldap' | 'entra';
export type LinkKind = 'group' | 'security';
export type MatchKey = 'mail' | 'login';
export type RunTrigger = 'schedule' | 'manual' | 'chat' | 'api';
export type RunStatus =
  | 'running'
  | 'success'
  | 'partial'
  | 'failed'
  | 'awaiting_approval'
  | 'rejected'
  | 'dry_run';
export type MappingStatus = 'mapped' | 'unmapped' | 'conflict' | 'ignored';
export type DuplicateStatus = 'pending' | 'linked' | 'ignored';
export type DirectoryVendor = 'active-directory' | 'openldap' | '389ds' | 'generic' | 'ldif' | 'entra';

/** A user as the directory knows it. `id` is the stable id: objectGUID, entryUUID or Graph id. */
export interface DirectoryUser {
  readonly id: string;
  readonly dn: string | null;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly enabled: boolean;
}

/** A linked directory group with its members expanded through nested groups. */
export interface DirectoryGroup {
  readonly id: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
  /** Stable ids of every user reached through nested groups, without repeats. */
  readonly memberIds: readonly string[];
}

/** A group as listed for linking: no members. */
export interface DirectoryGroupRef {
  readonly id: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
}

/** An entry the reader could not use, with the reason, reported on the run. */
export interface SkippedEntry {
  readonly ref: string;
  readonly reason: string;
  /** The entry's stable id, when it is known: the run leaves that user or group as it is (not deactivated, deleted or removed from groups). */
  readonly id?: string;
  /**
   * What was skipped: a user or a group (counted as failed in the run's summary), a member value
   * of a group (listed, not counted), or an entry of unknown kind (counted with the users).
   */
  readonly kind?: 'user' | 'group' | 'member' | 'entry';
}

export type SslState = 'ok' | 'expiring' | 'expired' | 'untrusted' | 'none';

export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly validTo: Date;
  readonly trusted: boolean;
  readonly error: string | null;
}

/** What to read: the groups selected by the scope filter and by explicit references. */
export interface ReadScope {
  /** LDAP filter (or Graph filter) selecting groups; null selects none by filter. */
  readonly groupFilter: string | null;
  /** Explicit group references: DNs or stable ids (LDAP) / ids (Graph). */
  readonly groupRefs: readonly string[];
}

export interface ReadProgress {
  readonly phase: 'users' | 'groups' | 'members' | 'resolve';
  readonly count: number;
  /** How many there are to read, where the source knows it. */
  readonly total?: number;
}

/**
 * What a source keeps between runs of one connection (Entra: the Graph delta links and the
 * directory as last read). Saved by the engine only with a run that applied; opaque to it.
 */
export interface DirectoryState {
  /** Small, readable part (delta links, scope key, when and how it was read). */
  readonly cursor: Readonly<Record<string, unknown>>;
  /** Large part, encoded by the source (compressed), or null. */
  readonly cache: Uint8Array | null;
  /**
   * Set when `cache` was not loaded with the cursor (a run that may find nothing changed reads
   * the cursor alone): fetches it when the source needs it.
   */
  readonly loadCache?: () => Promise<Uint8Array | null>;
}

/** A complete read of the scope. A source never returns a partial snapshot: it throws. */
export interface DirectorySnapshot {
  readonly vendor: DirectoryVendor;
  readonly groups: readonly DirectoryGroup[];
  readonly users: readonly DirectoryUser[];
  readonly skipped: readonly SkippedEntry[];
  /** Ids of users reached only through a skipped group: left as they are, like skipped entries. */
  readonly held?: readonly string[];
  readonly certificate: CertificateInfo | null;
  /** Read statistics for the run record: entries read, ranged reads, pages. */
  readonly stats?: Readonly<Record<string, number | boolean | string>>;
  /** The state to keep for the next run (sources that read incrementally); saved only if this run applies. */
  readonly nextState?: DirectoryState;
}

export interface SourceReadOptions {
  /** Read in full even when the state allows an incremental read (`sync --full`); the run records readReason `requested`. */
  readonly full?: boolean;
  /**
   * The store is as the run that saved `state` left it: when the directory reports no change
   * since that state either, the source may answer UnchangedRead instead of a snapshot.
   */
  readonly allowUnchanged?: boolean;
}

/** The directory reported no change since the state it was read from (asked for with `allowUnchanged`). */
export interface UnchangedRead {
  readonly unchanged: true;
  readonly vendor: DirectoryVendor;
  readonly certificate: CertificateInfo | null;
  readonly stats: Readonly<Record<string, number | boolean | string>>;
  /** The state to keep (a new cookie), saved with the run. */
  readonly nextState?: DirectoryState;
}

export function isUnchanged(read: DirectorySnapshot | UnchangedRead): read is UnchangedRead {
  return 'unchanged' in read && read.unchanged === true;
}

/** The port every directory (LDAP, LDIF sample, Entra) implements. */
export interface DirectorySource {
  readonly kind: ConnectionKind;
  /** Checks the connection and credentials; returns the vendor and the certificate seen. */
  probe(): Promise<{ vendor: DirectoryVendor; certificate: CertificateInfo | null }>;
  /**
   * Reads the complete scope. `state` is what the last applied full-scope run returned as
   * `nextState` (null when there is none, or when the read covers selected groups only).
   */
  read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void, state?: DirectoryState | null, options?: SourceReadOptions): Promise<DirectorySnapshot | UnchangedRead>;
  /** Finds one group by name, DN or id, for linking. Several matches throw an ambiguity error. */
  findGroup(ref: string): Promise<DirectoryGroupRef | null>;
  /**
   * The nesting path from a group down to a user (`why`): the names of the groups from `group`
   * to the one that lists the user, or null when the user is not reached. Read from the directory
   * now (the store keeps effective members, not the edges). Absent where the source cannot tell.
   */
  memberPath?(group: { readonly id: string; readonly dn: string | null }, user: { readonly id: string; readonly dn: string | null }): Promise<string[] | null>;
  /**
   * Requests sent to the directory so far and how many of them were retries (kept on a failed
   * run); undefined when the source does not count them.
   */
  requestStats?(): DirectoryRequestStats | undefined;
  close(): Promise<void>;
}

export interface DirectoryRequestStats {
  readonly requests: number;
  readonly retries: number;
}
