/**
 * The memberships step: each synced group's members made equal to its directory members that
 * have a local user (or are created now). Members kept (skipped or held) are not removed.
 */
import type { DirectoryGroup, DirectorySnapshot } from '../../domain/types.ts';
import type { Ref, StoreState, SyncPlan } from '../../domain/plan.ts';

export type MembershipsPlan = SyncPlan['memberships'];

export function planMemberships(
  snapshot: DirectorySnapshot,
  state: StoreState,
  target: ReadonlyMap<string, Ref>,
  member: ReadonlyMap<string, Ref>,
  keptLocal: ReadonlySet<number>,
): MembershipsPlan {
  const out: MembershipsPlan = { addGroup: [], addUser: [], removeGroup: [], removeUser: [] };
  const byId = new Map<string, DirectoryGroup>();
  for (const g of snapshot.groups) byId.set(g.id, g);
  for (const [directoryId, groupRef] of target) {
    if (state.unchangedGroups?.has(directoryId)) continue; // same members, each unchanged: nothing to add or remove
    const g = byId.get(directoryId)!;
    const current = typeof groupRef === 'number' ? state.memberships.get(groupRef) : undefined;
    const desiredLocal = new Set<number>();
    for (const userId of g.memberIds) {
      const ref = member.get(userId);
      if (ref === undefined) continue;
      if (typeof ref === 'number') desiredLocal.add(ref);
      if (typeof ref === 'string' || !current?.has(ref)) {
        out.addGroup.push(groupRef);
        out.addUser.push(ref);
      }
    }
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
