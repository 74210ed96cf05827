/**
 * The users step: the members of synced groups are the scope. Users already mapped (or
 * ignored) are updated or refreshed; the others are matched on the connection's key
 * (match.ts); mapped users who left the scope are deactivated. Returns which local user each
 * directory user's memberships follow (`member`).
 */
import { membersOf, snapshotIndex } from '../../domain/snapshot-index.ts';
import type { DirectorySnapshot, DirectoryUser, SkippedEntry } from '../../domain/types.ts';
import type { Kept } from './kept.ts';
import { planNewUsers } from './match.ts';
import { MemberRefs } from './member-refs.ts';
import { sameUser, userFields } from './fields.ts';
import type { PlanOptions, Ref, StoreState, SyncPlan } from '../../domain/plan.ts';

export type UsersPlan = SyncPlan['users'];

export interface UsersPart {
  readonly users: UsersPlan;
  /** Users that cannot be matched (no value of the match key). */
  readonly skipped: SkippedEntry[];
  /** Which local user each directory user's memberships follow. */
  readonly member: MemberRefs;
}

export function emptyUsers(): UsersPlan {
  return { create: [], map: [], update: [], conflicts: [], unmapped: [], deactivate: [], refresh: [], ignored: 0 };
}

export function planUsers(snapshot: DirectorySnapshot, state: StoreState, options: PlanOptions, target: ReadonlyMap<string, Ref>, kept: Kept): UsersPart {
  const part: UsersPart = { users: emptyUsers(), skipped: [], member: new MemberRefs(snapshot) };
  // The scope is the members of the groups that are synced: a user reached only through a
  // duplicate (not synced) group is not created, mapped or kept in scope.
  const { userIndex } = snapshotIndex(snapshot);
  const synced = membersOf(snapshot, target);
  const pending: DirectoryUser[] = [];
  snapshot.users.forEach((u, i) => {
    // A user id read twice: its first record counts.
    if (!synced[i] || userIndex.get(u.id) !== i) return;
    const stable = state.stableUsers?.get(u.id);
    if (stable !== undefined) part.member.setAt(i, stable); // vouched unchanged by its digest: nothing to write
    else if (!planKnownUser(state, u, part)) pending.push(u);
  });
  planNewUsers(snapshot, state, options, target, pending, part);
  const inScope = (id: string) => {
    const i = userIndex.get(id);
    return i !== undefined && synced[i] === 1;
  };
  if (!options.partialScope) planDeparted(state, inScope, kept, part.users);
  return part;
}

/**
 * An ignored or mapped user: refreshed or updated; false for a user not mapped yet. Compared field
 * by field first: records are built only for a user that changed (most of a large read did not).
 */
function planKnownUser(state: StoreState, u: DirectoryUser, part: UsersPart): boolean {
  const mapping = state.mappings.get(u.id);
  if (mapping?.status === 'ignored') {
    part.users.ignored++;
    if (!sameUser(u, mapping) || !mapping.inScope) part.users.refresh.push({ ...userFields(u), inScope: true });
    return true;
  }
  if (mapping?.status !== 'mapped' || mapping.localUserId === null) return false;
  const local = state.localUsers.get(mapping.localUserId);
  const id = mapping.localUserId;
  part.member.set(u.id, id);
  const login = local?.login ?? mapping.login;
  const mail = local?.mail ?? mapping.mail;
  const displayName = local?.displayName ?? mapping.displayName;
  const active = local?.active ?? true;
  if (login !== u.login || mail !== u.mail || displayName !== u.displayName || active !== u.enabled) {
    const fields = userFields(u);
    const before = { ...fields, dn: mapping.dn, login, mail, displayName, enabled: mapping.enabled, active };
    part.users.update.push({ localUserId: id, before, after: { ...fields, active: u.enabled } });
  } else if (!sameUser(u, mapping) || !mapping.inScope) part.users.refresh.push({ ...userFields(u), inScope: true });
  return true;
}

/** Users who left the scope: deactivated, never deleted; not when another connection still has them. */
function planDeparted(state: StoreState, inScope: (id: string) => boolean, kept: Kept, users: UsersPlan): void {
  for (const m of state.mappings.values()) {
    if (!m.inScope || inScope(m.directoryId)) continue;
    if (kept.isKept(m)) continue;
    const local = m.status === 'mapped' && m.localUserId !== null ? state.localUsers.get(m.localUserId) : undefined;
    if (m.localUserId !== null && local?.active && !state.sharedLocalUsers.has(m.localUserId)) {
      users.deactivate.push({ localUserId: m.localUserId, directoryId: m.directoryId, login: m.login, reason: 'left the scope' });
    } else {
      users.refresh.push({ directoryId: m.directoryId, dn: m.dn, login: m.login, mail: m.mail, displayName: m.displayName, enabled: m.enabled, inScope: false });
    }
  }
}
