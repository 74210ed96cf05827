/**
 * The planner: a pure function of (directory snapshot, store state) → plan. No I/O here; the
 * same plan is printed by a dry run, held for approval, or applied in one transaction.
 */
import type {
  DirectoryGroup,
  DirectorySnapshot,
  DirectoryUser,
  LinkKind,
  MatchKey,
  MappingStatus,
  SkippedEntry,
} from '../domain/types.ts';
import { normalizeDn } from '../directory/ldap/dn.ts';

export interface LinkState {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
  readonly kind: LinkKind;
  readonly origin: 'scope' | 'manual';
  readonly localGroupId: number | null;
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
  /** Current members of each linked local group. */
  readonly memberships: ReadonlyMap<number, ReadonlySet<number>>;
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

/** DN comparison key; a reference that is not a DN (an id) is compared as it is. */
function dnKey(ref: string): string {
  try {
    return normalizeDn(ref);
  } catch {
    return ref.toLowerCase();
  }
}

const lower = (s: string | null) => (s === null ? null : s.toLowerCase());

/** The user's value of the connection's match key, lower case, or null when it has none. */
const matchKeyOf = (u: { readonly login: string | null; readonly mail: string | null }, matchKey: MatchKey) => lower(matchKey === 'mail' ? u.mail : u.login);

function userFields(u: DirectoryUser): UserFields {
  return { directoryId: u.id, dn: u.dn, login: u.login, mail: u.mail, displayName: u.displayName, enabled: u.enabled };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

function sameUser(a: UserFields, m: MappingState): boolean {
  return a.dn === m.dn && a.login === m.login && a.mail === m.mail && a.displayName === m.displayName && a.enabled === m.enabled;
}

export function planSync(snapshot: DirectorySnapshot, state: StoreState, options: PlanOptions): SyncPlan {
  const plan: SyncPlan = {
    connection: options.connection,
    groups: { create: [], update: [], delete: [], duplicates: [], relink: [] },
    users: { create: [], map: [], update: [], conflicts: [], unmapped: [], deactivate: [], refresh: [], ignored: 0 },
    memberships: { addGroup: [], addUser: [], removeGroup: [], removeUser: [] },
    skipped: [...snapshot.skipped],
    objectCount: 0,
    membershipCount: 0,
  };

  // ---- groups ----------------------------------------------------------------------------
  const linkByDirectoryId = new Map(state.links.map((l) => [l.directoryId, l]));
  /** Directory group id → where its members go: a local group id, or its own directory id when created now. */
  const target = new Map<string, Ref>();
  const seenGroups = new Set<string>();
  /** Lower-case names taken by groups created in this run → the creating directory group id. */
  const claimedNames = new Map<string, string>();
  for (const g of snapshot.groups) {
    if (seenGroups.has(g.id) || state.unlinked.has(g.id)) continue;
    seenGroups.add(g.id);
    const link = linkByDirectoryId.get(g.id);
    const kind = link?.kind ?? options.kindOf?.get(g.id) ?? options.linkKind;
    const origin = link?.origin ?? (options.manualIds?.has(g.id) ? 'manual' : 'scope');
    const fields: GroupFields = { directoryId: g.id, dn: g.dn, name: g.name, description: g.description, kind, origin };
    if (link) {
      if (link.localGroupId === null) {
        // Linked by an admin but no local group yet: create one, unless the name is taken (a duplicate).
        const key = g.name.toLowerCase();
        const existing = state.localGroupsByName.get(key);
        if (state.duplicates.has(g.id)) continue;
        if (existing || claimedNames.has(key)) {
          plan.groups.duplicates.push({ ...fields, localGroupId: existing ? existing.id : claimedNames.get(key)! });
          continue;
        }
        claimedNames.set(key, g.id);
        plan.groups.relink.push({ linkId: link.id, fields });
        target.set(g.id, g.id);
      } else {
        target.set(g.id, link.localGroupId);
        const taken = state.localGroupsByName.get(g.name.toLowerCase());
        if (link.name.toLowerCase() !== g.name.toLowerCase() && (claimedNames.has(g.name.toLowerCase()) || (taken && taken.id !== link.localGroupId))) {
          plan.skipped.push({ ref: g.dn ?? g.id, kind: 'group', reason: `cannot rename local group "${link.name}" to "${g.name}": another local group has that name` });
          continue;
        }
        if (link.name !== g.name || link.description !== g.description || link.dn !== g.dn) {
          plan.groups.update.push({
            linkId: link.id,
            localGroupId: link.localGroupId,
            before: { directoryId: g.id, dn: link.dn, name: link.name, description: link.description, kind: link.kind, origin: link.origin },
            after: fields,
          });
        }
      }
      continue;
    }
    const duplicate = state.duplicates.get(g.id);
    if (duplicate) continue; // pending or ignored: not synced until an admin links it
    const key = g.name.toLowerCase();
    const existing = state.localGroupsByName.get(key);
    if (existing || claimedNames.has(key)) {
      // A local group of that name that this directory group is not linked to: a duplicate
      // (of an existing local group, or of the one another directory group creates in this run).
      plan.groups.duplicates.push({ ...fields, localGroupId: existing ? existing.id : claimedNames.get(key)! });
      continue;
    }
    claimedNames.set(key, g.id);
    plan.groups.create.push(fields);
    target.set(g.id, g.id);
  }
  // Entries skipped for a value (by id) and users reached only through a skipped group (held)
  // are left as they are: a group is not deleted, a user not deactivated nor removed from groups.
  const held = new Set(snapshot.held ?? []);
  for (const s of snapshot.skipped) if (s.id) held.add(s.id);
  for (const link of state.links) {
    if (seenGroups.has(link.directoryId) || held.has(link.directoryId)) continue;
    if (options.partialScope) continue;
    const members = link.localGroupId === null ? 0 : (state.memberships.get(link.localGroupId)?.size ?? 0);
    plan.groups.delete.push({ linkId: link.id, localGroupId: link.localGroupId, directoryId: link.directoryId, name: link.name, members });
  }

  // ---- users -----------------------------------------------------------------------------
  /** Directory user id → local user ref whose memberships follow the directory. */
  const member = new Map<string, Ref>();
  const claimedLocal = new Set<number>();
  for (const m of state.mappings.values()) if (m.localUserId !== null && m.status === 'mapped') claimedLocal.add(m.localUserId);
  // The scope is the members of the groups that are synced: a user reached only through a
  // duplicate (not synced) group is not created, mapped or kept in scope.
  const synced = new Set<string>();
  for (const g of snapshot.groups) if (target.has(g.id)) for (const id of g.memberIds) synced.add(id);
  // A user whose entry could not be read (skipped: invalid value, bad DN) is not "gone":
  // it is never deactivated for that.
  const unreadable = new Set<string>();
  for (const s of snapshot.skipped) unreadable.add(dnKey(s.ref));
  const isKept = (m: MappingState) => held.has(m.directoryId) || (unreadable.size > 0 && m.dn !== null && unreadable.has(dnKey(m.dn)));
  const seenUsers = new Set<string>();
  const pendingNew: DirectoryUser[] = [];
  for (const u of snapshot.users) {
    if (seenUsers.has(u.id) || !synced.has(u.id)) continue;
    seenUsers.add(u.id);
    const fields = userFields(u);
    const mapping = state.mappings.get(u.id);
    if (mapping?.status === 'ignored') {
      plan.users.ignored++;
      if (!sameUser(fields, mapping) || !mapping.inScope) plan.users.refresh.push({ ...fields, inScope: true });
      continue;
    }
    if (mapping?.status === 'mapped' && mapping.localUserId !== null) {
      const local = state.localUsers.get(mapping.localUserId);
      const id = mapping.localUserId;
      member.set(u.id, id);
      const before = { ...fields, dn: mapping.dn, login: local?.login ?? mapping.login, mail: local?.mail ?? mapping.mail, displayName: local?.displayName ?? mapping.displayName, enabled: mapping.enabled, active: local?.active ?? true };
      const after = { ...fields, active: u.enabled };
      const localChanged =
        before.login !== after.login || before.mail !== after.mail || before.displayName !== after.displayName || before.active !== after.active;
      if (localChanged) plan.users.update.push({ localUserId: id, before, after });
      else if (!sameUser(fields, mapping) || !mapping.inScope) plan.users.refresh.push({ ...fields, inScope: true });
      continue;
    }
    pendingNew.push(u);
  }
  // Users not mapped yet (new, unmapped, conflict, or whose local user vanished): match on the key.
  const takenKeys = heldKeys(plan, state, claimedLocal, options.matchKey);
  const keyUse = new Map<string, number>();
  for (const u of pendingNew) {
    const key = matchKeyOf(u, options.matchKey);
    if (key) keyUse.set(key, (keyUse.get(key) ?? 0) + 1);
  }
  // Which synced groups reach each user not mapped yet: a link is red while it has conflicts.
  const via = new Map<string, string[]>();
  for (const u of pendingNew) via.set(u.id, []);
  if (via.size) for (const g of snapshot.groups) if (target.has(g.id)) for (const id of g.memberIds) via.get(id)?.push(g.id);
  const viaOf = (id: string) => (via.get(id) ?? []).sort();
  const sameVia = (m: MappingState, groups: string[]) => sameStrings(m.viaGroups ?? [], groups);
  const conflict = (fields: UserFields, candidates: number[]) => {
    const m = state.mappings.get(fields.directoryId);
    const viaGroups = viaOf(fields.directoryId);
    const unchanged = !!m && m.status === 'conflict' && m.inScope && sameUser(fields, m) && sameIds(m.candidates, candidates) && sameVia(m, viaGroups);
    plan.users.conflicts.push({ ...fields, candidates, viaGroups, unchanged });
  };
  const unmapped = (fields: UserFields, reason: string) => {
    const m = state.mappings.get(fields.directoryId);
    const viaGroups = viaOf(fields.directoryId);
    const unchanged = !!m && m.status === 'unmapped' && m.inScope && m.localUserId === null && sameUser(fields, m) && sameVia(m, viaGroups);
    plan.users.unmapped.push({ ...fields, reason, viaGroups, unchanged });
  };
  for (const u of pendingNew) {
    const fields = userFields(u);
    const key = matchKeyOf(u, options.matchKey);
    if (!key) {
      unmapped(fields, `no ${options.matchKey}: cannot be matched to a local user`);
      plan.skipped.push({ ref: u.dn ?? u.id, kind: 'user', reason: `no ${options.matchKey} (the connection's match key)` });
      continue;
    }
    const candidates = (state.candidatesByKey.get(key) ?? []).filter((id) => !claimedLocal.has(id));
    if (candidates.length === 0 && takenKeys.has(key)) {
      // The local user with this key (now, or after this run's updates) belongs to another
      // directory user: a second account with the same key would be worse than asking an admin.
      conflict(fields, []);
      continue;
    }
    if (candidates.length === 1) {
      const id = candidates[0]!;
      if ((keyUse.get(key) ?? 0) > 1) {
        // Two directory users share one key: neither may take the local user.
        conflict(fields, [id]);
        continue;
      }
      claimedLocal.add(id);
      plan.users.map.push({ ...fields, localUserId: id });
      member.set(u.id, id);
      const local = state.localUsers.get(id);
      if (local && (local.login !== u.login || local.mail !== u.mail || local.displayName !== u.displayName || local.active !== u.enabled)) {
        plan.users.update.push({
          localUserId: id,
          before: { ...fields, login: local.login, mail: local.mail, displayName: local.displayName, active: local.active },
          after: { ...fields, active: u.enabled },
        });
      }
    } else if (candidates.length > 1) {
      conflict(fields, [...candidates].sort((a, b) => a - b));
    } else if ((keyUse.get(key) ?? 0) > 1) {
      conflict(fields, []);
    } else if (options.createUsers) {
      plan.users.create.push({ ...fields, known: state.mappings.has(u.id) });
      member.set(u.id, u.id);
    } else {
      unmapped(fields, 'no local user matches and user creation is off');
    }
  }
  // Users who left the scope: deactivated, never deleted; not when another connection still has them.
  if (!options.partialScope) {
    for (const m of state.mappings.values()) {
      if (seenUsers.has(m.directoryId) || !m.inScope) continue;
      if (isKept(m)) continue;
      if (m.status === 'mapped' && m.localUserId !== null) {
        const local = state.localUsers.get(m.localUserId);
        if (local?.active && !state.sharedLocalUsers.has(m.localUserId)) {
          plan.users.deactivate.push({ localUserId: m.localUserId, directoryId: m.directoryId, login: m.login, reason: 'left the scope' });
        } else {
          plan.users.refresh.push({ directoryId: m.directoryId, dn: m.dn, login: m.login, mail: m.mail, displayName: m.displayName, enabled: m.enabled, inScope: false });
        }
      } else {
        plan.users.refresh.push({ directoryId: m.directoryId, dn: m.dn, login: m.login, mail: m.mail, displayName: m.displayName, enabled: m.enabled, inScope: false });
      }
    }
  }

  // ---- memberships -----------------------------------------------------------------------
  const keptLocal = new Set<number>();
  if (held.size || unreadable.size) for (const m of state.mappings.values()) if (m.localUserId !== null && isKept(m)) keptLocal.add(m.localUserId);
  const byId = new Map<string, DirectoryGroup>();
  for (const g of snapshot.groups) byId.set(g.id, g);
  for (const [directoryId, groupRef] of target) {
    const g = byId.get(directoryId)!;
    const current = typeof groupRef === 'number' ? state.memberships.get(groupRef) : undefined;
    const desiredLocal = new Set<number>();
    for (const userId of g.memberIds) {
      const ref = member.get(userId);
      if (ref === undefined) continue;
      if (typeof ref === 'number') {
        desiredLocal.add(ref);
        if (!current?.has(ref)) {
          plan.memberships.addGroup.push(groupRef);
          plan.memberships.addUser.push(ref);
        }
      } else {
        plan.memberships.addGroup.push(groupRef);
        plan.memberships.addUser.push(ref);
      }
    }
    if (current && typeof groupRef === 'number') {
      for (const userId of current) {
        if (!desiredLocal.has(userId) && !keptLocal.has(userId)) {
          plan.memberships.removeGroup.push(groupRef);
          plan.memberships.removeUser.push(userId);
        }
      }
    }
  }

  let inScope = 0;
  for (const m of state.mappings.values()) if (m.inScope && m.status === 'mapped') inScope++;
  let memberships = 0;
  for (const members of state.memberships.values()) memberships += members.size;
  (plan as { objectCount: number }).objectCount = state.links.length + inScope;
  (plan as { membershipCount: number }).membershipCount = memberships;
  return plan;
}

/**
 * The match keys (lower case) of the local users already mapped, as they will be after this
 * plan's updates: a user not mapped yet who has one of them may not take or copy it.
 */
function heldKeys(plan: SyncPlan, state: StoreState, claimedLocal: ReadonlySet<number>, matchKey: MatchKey): Set<string> {
  const after = new Map<number, string | null>();
  for (const id of claimedLocal) {
    const local = state.localUsers.get(id);
    if (local) after.set(id, matchKeyOf(local, matchKey));
  }
  for (const x of plan.users.update) after.set(x.localUserId, matchKeyOf(x.after, matchKey));
  const keys = new Set<string>();
  for (const key of after.values()) if (key) keys.add(key);
  return keys;
}

export function countPlan(plan: SyncPlan): PlanCounts {
  return {
    groupsCreated: plan.groups.create.length + plan.groups.relink.length,
    groupsModified: plan.groups.update.length,
    groupsDeleted: plan.groups.delete.length,
    groupsDuplicated: plan.groups.duplicates.length,
    usersCreated: plan.users.create.length,
    usersUpdated: plan.users.update.length,
    usersDeactivated: plan.users.deactivate.length,
    usersConflicts: plan.users.conflicts.length,
    usersIgnored: plan.users.ignored,
    usersMapped: plan.users.map.length,
    usersUnmapped: plan.users.unmapped.length,
    membershipsAdded: plan.memberships.addGroup.length,
    // A deleted group's memberships go with it: they are removed memberships too.
    membershipsRemoved: plan.memberships.removeGroup.length + plan.groups.delete.reduce((n, d) => n + (d.members ?? 0), 0),
  };
}

export function isEmptyPlan(plan: SyncPlan): boolean {
  const c = countPlan(plan);
  return (
    c.groupsCreated + c.groupsModified + c.groupsDeleted + c.groupsDuplicated + c.usersCreated + c.usersUpdated + c.usersDeactivated + c.usersMapped + c.membershipsAdded + c.membershipsRemoved === 0 &&
    plan.users.refresh.length === 0 &&
    plan.users.conflicts.every((c) => c.unchanged) &&
    plan.users.unmapped.every((u) => u.unchanged)
  );
}
