/**
 * The planner's types: what it reads of the store (StoreState), how it is asked (PlanOptions)
 * and what it returns (SyncPlan), with the digests the store keeps. Plain data shared by the
 * planner (sync/plan/), the store that loads and records it, and the notifier that reports it.
 */
import type { LinkKind, MatchKey, MappingStatus, SkippedEntry } from './types.ts';

export interface LinkState {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
  readonly kind: LinkKind;
  readonly origin: 'scope' | 'manual';
  readonly localGroupId: number | null;
  /** The member digest the last full-scope run stored (sync/plan/digest.ts); absent when not loaded. */
  readonly memberDigest?: string | null;
}

export interface MappingState {
  readonly directoryId: string;
  readonly status: MappingStatus;
  readonly localUserId: number | null;
  readonly dn: string | null;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly enabled: boolean;
  readonly inScope: boolean;
  readonly candidates: readonly number[];
  readonly viaGroups?: readonly string[];
  /** The attribute digest stored with the mapping (null when none vouches for it). */
  readonly digest?: string | null;
}

export interface LocalUserState {
  readonly id: number;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly active: boolean;
}

export interface StoreState {
  /** Active links of this connection. */
  readonly links: readonly LinkState[];
  /** Directory ids an admin unlinked: a scope filter must not link them again. */
  readonly unlinked: ReadonlySet<string>;
  /** Pending or ignored duplicates of this connection, by directory id. */
  readonly duplicates: ReadonlyMap<string, { status: 'pending' | 'linked' | 'ignored'; localGroupId: number | null }>;
  /** Local groups by lower-case name, with whether some link owns them. */
  readonly localGroupsByName: ReadonlyMap<string, { id: number; name: string; linked: boolean }>;
  readonly mappings: ReadonlyMap<string, MappingState>;
  /** Local users referenced by mappings or candidates, by id. */
  readonly localUsers: ReadonlyMap<number, LocalUserState>;
  /** Local user ids whose match key (lower case) equals the key, for users not yet mapped. */
  readonly candidatesByKey: ReadonlyMap<string, readonly number[]>;
  /** Local users mapped (in scope) by another connection: never deactivated from here. */
  readonly sharedLocalUsers: ReadonlySet<number>;
  /** Current members of each linked local group (of the changed ones only, when `unchangedGroups` is given). */
  readonly memberships: ReadonlyMap<number, MemberIds>;
  /**
   * Digest-assisted loads (store/sync-state.ts) leave out what the stored digests vouch
   * unchanged. Snapshot users whose mapping was not loaded: mapped, in scope, their local user
   * equal to their attributes, none of it changed since the run that stored their digest; with
   * the local user each is mapped to (its memberships follow it).
   */
  readonly stableUsers?: ReadonlyMap<string, number>;
  /**
   * Linked groups (directory ids) whose memberships were not loaded: same member digest, every
   * member's mapping unchanged since that run (its attributes may have changed).
   */
  readonly unchangedGroups?: ReadonlySet<string>;
  /** How many memberships those unchanged groups hold (for the guard's count). */
  readonly unloadedMemberships?: number;
}

/** A local group's members (local user ids): a Set, or the compact SortedIds the store loads (domain/sorted-ids.ts). */
export interface MemberIds extends Iterable<number> {
  readonly size: number;
  has(id: number): boolean;
}

export interface PlanOptions {
  readonly connection: string;
  readonly linkKind: LinkKind;
  readonly matchKey: MatchKey;
  readonly createUsers: boolean;
  /** Kind chosen for each directory group id linked manually or by config list. */
  readonly kindOf?: ReadonlyMap<string, LinkKind>;
  /** Directory ids found through the scope filter (others were found by reference). */
  readonly manualIds?: ReadonlySet<string>;
  /**
   * The read covered only some groups (selected names or --kind): groups outside it are not
   * deleted and users outside it are not deactivated.
   */
  readonly partialScope: boolean;
}

export interface GroupFields {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
  readonly kind: LinkKind;
  readonly origin: 'scope' | 'manual';
}

export interface UserFields {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly enabled: boolean;
}

/** A member reference: a local id (number) or, for an object created by this plan, its directory id (string). */
export type Ref = number | string;

export interface SyncPlan {
  readonly connection: string;
  readonly groups: {
    readonly create: GroupFields[];
    readonly update: Array<{ linkId: number; localGroupId: number | null; before: GroupFields; after: GroupFields }>;
    /** `members`: the local group's members, whose memberships go with it (absent in plans held by older versions). */
    readonly delete: Array<{ linkId: number; localGroupId: number | null; directoryId: string; name: string; members?: number }>;
    /** `localGroupId`: an existing local group, or (string) the directory id of the group this plan creates. */
    readonly duplicates: Array<GroupFields & { localGroupId: Ref }>;
    /** Links whose local group vanished: a new local group is created for them. */
    readonly relink: Array<{ linkId: number; fields: GroupFields }>;
  };
  readonly users: {
    /** `known`: the user already has a mapping row (unmapped, in conflict, or its local user vanished). */
    readonly create: Array<UserFields & { known: boolean }>;
    readonly map: Array<UserFields & { localUserId: number }>;
    readonly update: Array<{ localUserId: number; before: UserFields & { active: boolean }; after: UserFields & { active: boolean } }>;
    /** `unchanged`: already recorded as such with the same data; nothing to write. */
    readonly conflicts: Array<UserFields & { candidates: number[]; viaGroups: string[]; unchanged: boolean }>;
    readonly unmapped: Array<UserFields & { reason: string; viaGroups: string[]; unchanged: boolean }>;
    readonly deactivate: Array<{ localUserId: number; directoryId: string; login: string | null; reason: string }>;
    /** Mapping rows whose cached directory state changed with no local change (ignored users, out of scope). */
    readonly refresh: Array<UserFields & { inScope: boolean }>;
    /** Ignored users met in the scope (skipped). */
    ignored: number;
  };
  readonly memberships: {
    readonly addGroup: Ref[];
    readonly addUser: Ref[];
    readonly removeGroup: number[];
    readonly removeUser: number[];
  };
  readonly skipped: SkippedEntry[];
  /** Objects of this connection before the run (linked groups + users in scope), for the guard. */
  readonly objectCount: number;
  /** Memberships of the connection's linked groups before the run, for the guard. */
  readonly membershipCount: number;
}

export interface PlanCounts {
  groupsCreated: number;
  groupsModified: number;
  groupsDeleted: number;
  groupsDuplicated: number;
  usersCreated: number;
  usersUpdated: number;
  usersDeactivated: number;
  usersConflicts: number;
  usersIgnored: number;
  usersMapped: number;
  usersUnmapped: number;
  membershipsAdded: number;
  membershipsRemoved: number;
}

export interface SnapshotDigests {
  /** Directory user id → digest of its synced attributes. */
  readonly users: ReadonlyMap<string, string>;
  /** Directory group id → digest of its member set. */
  readonly groups: ReadonlyMap<string, string>;
  /**
   * Everything of the snapshot a plan reads: each user record (id and synced attributes) and each
   * group (id, DN, name, description, member set), order-free, with their counts. Equal to the
   * one the last applying run kept (store unchanged since), the plan would change nothing.
   */
  readonly whole: string;
}

/** The digests a full-scope run stores once its plan is applied (sync/plan/digest.ts). */
export interface DigestWrites {
  readonly users: { readonly ids: string[]; readonly digests: string[] };
  /** Users whose mapping row the plan inserts (none before it): no digest of theirs can exist, so theirs are copied. */
  readonly newUsers: { readonly ids: string[]; readonly digests: string[] };
  readonly groups: { readonly ids: string[]; readonly digests: string[] };
}
