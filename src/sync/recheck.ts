/**
 * Re-checks a held plan against the store before it is applied on approval: changes whose
 * premise no longer holds (a link already removed, a user mapped meanwhile, an object deleted)
 * are dropped rather than applied blindly.
 */
import type { MatchKey } from '../domain/types.ts';
import type { Executor } from '../store/db.ts';
import { loadRecheckState, loadRemovalState } from '../store/sync-state.ts';
import type { LinkState, Ref, SyncPlan } from './plan.ts';

export async function recheckPlan(db: Executor, plan: SyncPlan, links: readonly LinkState[], matchKey: MatchKey): Promise<{ plan: SyncPlan; dropped: number }> {
  const linkById = new Map(links.map((l) => [l.id, l]));
  const linkedDirectoryIds = new Set(links.map((l) => l.directoryId));
  const keyOf = (u: { login: string | null; mail: string | null }) => (matchKey === 'mail' ? u.mail : u.login)?.toLowerCase() ?? null;
  const { mappings: mapping, takenNames, takenKeys, activeUsers, claimed, groupsAlive } = await loadRecheckState(db, plan.connection, {
    directoryIds: [
      ...plan.users.create.map((u) => u.directoryId),
      ...plan.users.map.map((u) => u.directoryId),
      ...plan.users.deactivate.map((u) => u.directoryId),
    ],
    groupNames: plan.groups.create.map((g) => g.name.toLowerCase()),
    matchKey,
    userKeys: plan.users.create.map(keyOf).filter((k): k is string => k !== null),
    userIds: [...new Set([...plan.memberships.addUser, ...plan.users.map.map((u) => u.localUserId), ...plan.users.deactivate.map((d) => d.localUserId)].filter((r): r is number => typeof r === 'number'))],
    groupIds: [...new Set(plan.memberships.addGroup.filter((r): r is number => typeof r === 'number'))],
  });

  let dropped = 0;
  const keep = <T>(list: readonly T[], ok: (item: T) => boolean): T[] => {
    const out = list.filter(ok);
    dropped += list.length - out.length;
    return out;
  };
  const groupsCreate = keep(plan.groups.create, (g) => !linkedDirectoryIds.has(g.directoryId) && !takenNames.has(g.name.toLowerCase()));
  const createdGroups = new Set<Ref>([...groupsCreate.map((g) => g.directoryId), ...plan.groups.relink.map((r) => r.fields.directoryId)]);
  // A user mapped or ignored meanwhile, or whose key a local user took meanwhile (the next sync maps it), is not created.
  const usersCreate = keep(plan.users.create, (u) => {
    const status = mapping.get(u.directoryId)?.status;
    const key = keyOf(u);
    return status !== 'mapped' && status !== 'ignored' && !(key !== null && takenKeys.has(key));
  });
  const createdUsers = new Set<Ref>(usersCreate.map((u) => u.directoryId));
  const usersMap = keep(plan.users.map, (u) => !claimed.has(u.localUserId) && activeUsers.has(u.localUserId) && mapping.get(u.directoryId)?.status !== 'ignored');
  const addGroup: Ref[] = [];
  const addUser: Ref[] = [];
  plan.memberships.addGroup.forEach((g, k) => {
    const u = plan.memberships.addUser[k]!;
    const groupOk = typeof g === 'number' ? groupsAlive.has(g) : createdGroups.has(g);
    const userOk = typeof u === 'number' ? activeUsers.has(u) : createdUsers.has(u);
    if (groupOk && userOk) {
      addGroup.push(g);
      addUser.push(u);
    } else dropped++;
  });
  const removals = await recheckRemovals(db, plan);
  const checked: SyncPlan = {
    ...plan,
    groups: {
      ...plan.groups,
      create: groupsCreate,
      update: keep(plan.groups.update, (u) => linkById.has(u.linkId)),
      delete: keep(plan.groups.delete, (d) => linkById.get(d.linkId)?.localGroupId === d.localGroupId).map((d) => ({
        ...d,
        members: d.localGroupId === null ? 0 : (removals.memberCounts.get(d.localGroupId) ?? 0),
      })),
      relink: keep(plan.groups.relink, (r) => linkById.has(r.linkId)),
    },
    users: {
      ...plan.users,
      create: usersCreate,
      map: usersMap,
      update: keep(plan.users.update, (u) => activeUsers.has(u.localUserId)),
      deactivate: keep(plan.users.deactivate, (d) => {
        const m = mapping.get(d.directoryId);
        return !!m && m.status === 'mapped' && m.local_user_id === d.localUserId && m.in_scope && activeUsers.get(d.localUserId) === true;
      }),
    },
    memberships: { addGroup, addUser, removeGroup: removals.removeGroup, removeUser: removals.removeUser },
  };
  // Counted once every list is filtered (the object above calls keep()).
  return { plan: checked, dropped };
}

/**
 * Removals as the store holds them now (an admin may have removed a member meanwhile, another
 * application added one), so the run records what the store loses: the members of each deleted
 * group counted again, a membership to remove that is gone already left out (what the approver
 * asked for is done: not counted as a dropped change).
 */
async function recheckRemovals(db: Executor, plan: SyncPlan) {
  const { removeGroup, removeUser } = plan.memberships;
  const deleted = plan.groups.delete.flatMap((d) => (d.localGroupId === null ? [] : [d.localGroupId]));
  const { memberCounts, present } = await loadRemovalState(db, deleted, { groups: removeGroup, users: removeUser });
  const kept = removeGroup.flatMap((g, k) => (present.has(`${g}:${removeUser[k]}`) ? [k] : []));
  return {
    memberCounts,
    removeGroup: kept.map((k) => removeGroup[k]!),
    removeUser: kept.map((k) => removeUser[k]!),
  };
}
