/**
 * The memberships step: each synced group's members made equal to its directory members that
 * have a local user (or are created now). Members kept (skipped or held) are not removed.
 */
import { snapshotIndex } from '../../domain/snapshot-index.ts';
import type { DirectorySnapshot } from '../../domain/types.ts';
import type { MemberIds, Ref, StoreState, SyncPlan } from '../../domain/plan.ts';
import type { MemberRefs } from './member-refs.ts';

export type MembershipsPlan = SyncPlan['memberships'];

export function planMemberships(
  snapshot: DirectorySnapshot,
  state: StoreState,
  target: ReadonlyMap<string, Ref>,
  member: MemberRefs,
  keptLocal: ReadonlySet<number>,
): MembershipsPlan {
  const out: MembershipsPlan = { addGroup: [], addUser: [], removeGroup: [], removeUser: [] };
  const { members } = snapshotIndex(snapshot);
  // A group id read twice: its last record counts.
  const byId = new Map<string, number>();
  snapshot.groups.forEach((g, i) => byId.set(g.id, i));
  for (const [directoryId, groupRef] of target) {
    if (state.unchangedGroups?.has(directoryId)) continue; // same members, each unchanged: nothing to add or remove
    const current = typeof groupRef === 'number' ? state.memberships.get(groupRef) : undefined;
    const desiredLocal = planGroupAdds(members[byId.get(directoryId)!]!, groupRef, current, member, out);
    if (current && typeof groupRef === 'number') {
      for (const userId of current) {
        if (!desiredLocal.has(userId) && !keptLocal.has(userId)) {
          out.removeGroup.push(groupRef);
          out.removeUser.push(userId);
        }
      }
    }
  }
  return out;
}

/** Adds the group's members it does not have yet; returns the local users it is to have. */
function planGroupAdds(users: Int32Array, groupRef: Ref, current: MemberIds | undefined, member: MemberRefs, out: MembershipsPlan): Set<number> {
  const desiredLocal = new Set<number>();
  for (let k = 0; k < users.length; k++) {
    const ref = member.at(users[k]!);
    if (ref === undefined) continue;
    if (typeof ref === 'number') {
      if (current) desiredLocal.add(ref);
      if (current?.has(ref)) continue;
    }
    out.addGroup.push(groupRef);
    out.addUser.push(ref);
  }
  return desiredLocal;
}
