/** A plan's counts (what a run records and reports) and whether it changes anything. */
import type { PlanCounts, SyncPlan } from '../../domain/plan.ts';

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
