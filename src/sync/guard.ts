/**
 * The guard between plan and apply. A read that failed never reaches here (the source throws);
 * what reaches here is checked for mass removal: an empty read, deletions and deactivations
 * above the connection's threshold, or removed memberships (they revoke access) above their own
 * threshold, hold the run for an admin's approval.
 */
import { type SyncPlan, countPlan } from './plan.ts';

export interface RemovalLimits {
  /** Hold when more than this many are removed… */
  readonly maxCount: number;
  /** …or when removals exceed this percentage of what the connection has… */
  readonly maxPercent: number;
  /** …once it has at least this many. */
  readonly minObjects: number;
}

export interface ThresholdConfig extends RemovalLimits {
  /** Limits on removed memberships (a deleted group's members included), counted against the connection's memberships. */
  readonly memberships: RemovalLimits;
}

export type GuardVerdict =
  | { readonly action: 'apply'; readonly removals: number; readonly memberships: number }
  | { readonly action: 'hold'; readonly reason: string; readonly removals: number; readonly memberships: number; readonly objects: number };

/** Why `removed` of `total` breaks the limits, or null. */
function overLimits(removed: number, total: number, limits: RemovalLimits, what: string, unit: string): string | null {
  if (removed > limits.maxCount) return `${removed} ${what} exceed the limit of ${limits.maxCount}`;
  if (total >= limits.minObjects && total > 0) {
    const percent = (removed / total) * 100;
    if (percent > limits.maxPercent) return `${removed} ${what} are ${percent.toFixed(1)} % of ${total} ${unit}, above the limit of ${limits.maxPercent} %`;
  }
  return null;
}

/** An empty read that would remove everything, or null. */
function emptyRead(plan: SyncPlan, snapshotGroups: number, snapshotUsers: number, removals: number): string | null {
  if (removals > 0 && snapshotGroups === 0) {
    return `the directory returned no linked group, which would delete all ${plan.groups.delete.length} linked groups`;
  }
  if (plan.users.deactivate.length > 0 && snapshotUsers === 0) {
    return `the directory returned no user, which would deactivate all ${plan.users.deactivate.length} users`;
  }
  return null;
}

export function guardPlan(plan: SyncPlan, snapshotGroups: number, snapshotUsers: number, threshold: ThresholdConfig): GuardVerdict {
  const removals = plan.groups.delete.length + plan.users.deactivate.length;
  const memberships = countPlan(plan).membershipsRemoved;
  const objects = plan.objectCount;
  // Every limit the plan breaks is named, so the approver sees the whole of it.
  const reasons = [
    emptyRead(plan, snapshotGroups, snapshotUsers, removals),
    overLimits(removals, objects, threshold, 'deletions and deactivations', 'objects'),
    overLimits(memberships, plan.membershipCount, threshold.memberships, 'removed memberships', 'memberships'),
  ].filter((r): r is string => r !== null);
  const reason = reasons.length ? reasons.join('; ') : null;
  return reason === null ? { action: 'apply', removals, memberships } : { action: 'hold', reason, removals, memberships, objects };
}
