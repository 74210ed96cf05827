/**
 * The planner: a pure function of (directory snapshot, store state) → plan. No I/O here; the
 * same plan is printed by a dry run, held for approval, or applied in one transaction.
 * Steps: groups (groups.ts) → users (users.ts, match.ts) → memberships (memberships.ts).
 */
import type { DirectorySnapshot } from '../../domain/types.ts';
import { planGroups } from './groups.ts';
import { keptLocalUsers, keptOf } from './kept.ts';
import { planMemberships } from './memberships.ts';
import type { PlanOptions, StoreState, SyncPlan } from '../../domain/plan.ts';
import { planUsers } from './users.ts';

export * from '../../domain/plan.ts';
export { countPlan, isEmptyPlan } from './counts.ts';

export function planSync(snapshot: DirectorySnapshot, state: StoreState, options: PlanOptions): SyncPlan {
  const kept = keptOf(snapshot);
  const groups = planGroups(snapshot, state, options, kept.held);
  const users = planUsers(snapshot, state, options, groups.target, kept);
  const memberships = planMemberships(snapshot, state, groups.target, users.member, keptLocalUsers(state, kept));
  return {
    connection: options.connection,
    groups: groups.groups,
    users: users.users,
    memberships,
    skipped: [...snapshot.skipped, ...groups.skipped, ...users.skipped],
    ...objectCounts(state),
  };
}

/** Objects and memberships of the connection before the run, for the guard. */
function objectCounts(state: StoreState): { objectCount: number; membershipCount: number } {
  // Stable users (not loaded) are mapped and in scope; unchanged groups' memberships were counted by the loader.
  let inScope = state.stableUsers?.size ?? 0;
  for (const m of state.mappings.values()) if (m.inScope && m.status === 'mapped') inScope++;
  let membershipCount = state.unloadedMemberships ?? 0;
  for (const members of state.memberships.values()) membershipCount += members.size;
  return { objectCount: state.links.length + inScope, membershipCount };
}
