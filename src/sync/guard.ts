/**
 * The guard between plan and apply. A read that failed never reaches here (the source throws);
 * what reaches here is checked for mass removal: an empty read, or deletions and deactivations
 * above the connection's threshold, hold the run for an admin's approval.
 */
import type { SyncPlan } from './plan.ts';

export interface ThresholdConfig {
  /** Hold when more than this many groups are deleted plus users deactivated. */
  readonly maxCount: number;
  /** Hold when removals exceed this percentage of the connection's objects… */
  readonly maxPercent: number;
  /** …once the connection has at least this many objects. */
  readonly minObjects: number;
}

export type GuardVerdict =
  | { readonly action: 'apply'; readonly removals: number }
  | { readonly action: 'hold'; readonly reason: string; readonly removals: number; readonly objects: number };

export function guardPlan(plan: SyncPlan, snapshotGroups: number, snapshotUsers: number, threshold: ThresholdConfig): GuardVerdict {
  const removals = plan.groups.delete.length + plan.users.deactivate.length;
  const objects = plan.objectCount;
  if (removals > 0 && snapshotGroups === 0) {
    return { action: 'hold', reason: `the directory returned no linked group, which would delete all ${plan.groups.delete.length} linked groups`, removals, objects };
  }
  if (plan.users.deactivate.length > 0 && snapshotUsers === 0) {
    return { action: 'hold', reason: `the directory returned no user, which would deactivate all ${plan.users.deactivate.length} users`, removals, objects };
  }
  if (removals > threshold.maxCount) {
    return { action: 'hold', reason: `${removals} deletions and deactivations exceed the limit of ${threshold.maxCount}`, removals, objects };
  }
  if (objects >= threshold.minObjects && objects > 0) {
    const percent = (removals / objects) * 100;
    if (percent > threshold.maxPercent) {
      return {
        action: 'hold',
        reason: `${removals} deletions and deactivations are ${percent.toFixed(1)} % of ${objects} objects, above the limit of ${threshold.maxPercent} %`,
        removals,
        objects,
      };
    }
  }
  return { action: 'apply', removals };
}
