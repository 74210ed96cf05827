/**
 * What a run records besides its status: the counters and the provisioning summary of a plan,
 * and, for a failed run, how far it got (the phase, what was read, the directory requests).
 */
import type { DirectorySource, ReadProgress } from '../domain/types.ts';
import type { RunSummary } from '../store/schema.ts';
import type { PlanCounts, SyncPlan } from './plan.ts';

/** The step a run was in: lock → read → plan → guard → apply → record. */
export type RunPhase = 'lock' | 'read' | 'plan' | 'guard' | 'apply' | 'record';

export interface RunProgress {
  phase: RunPhase;
  /** The last read progress: what was being read and how many entries so far. */
  readPhase: ReadProgress['phase'] | null;
  readCount: number;
}

/** The directory requests and retries a run's source sent (recorded on every run; counted by the metrics). */
export function requestCounts(source: DirectorySource | null): { requests: number; retries: number } | Record<string, never> {
  const requests = source?.requestStats?.();
  return requests ? { requests: requests.requests, retries: requests.retries } : {};
}

/** What a failed run records: the phase reached, what was read, the directory requests and retries so far. */
export function failedStats(reached: RunProgress, source: DirectorySource | null, ms: number): Record<string, string | number> {
  return {
    phase: reached.phase,
    ...(reached.readPhase ? { readPhase: reached.readPhase, readCount: reached.readCount } : {}),
    ...requestCounts(source),
    ms: Math.round(ms),
  };
}

/** `failed`: entries skipped for an invalid value (those without the match key are counted as unsynced). */
export function summarize(counts: PlanCounts, failed: FailedEntries): RunSummary {
  const usersSuccess = counts.usersCreated + counts.usersUpdated + counts.usersDeactivated + counts.usersMapped;
  const usersUnsynced = counts.usersConflicts + counts.usersUnmapped;
  const groupsSuccess = counts.groupsCreated + counts.groupsModified + counts.groupsDeleted;
  return {
    users: { impacted: usersSuccess + usersUnsynced, success: usersSuccess, unsynced: usersUnsynced, partial: 0, failed: failed.users },
    groups: { impacted: groupsSuccess + counts.groupsDuplicated, success: groupsSuccess, unsynced: counts.groupsDuplicated, partial: 0, failed: failed.groups },
  };
}

export function counters(counts: PlanCounts) {
  return {
    groupsCreated: counts.groupsCreated,
    groupsModified: counts.groupsModified,
    groupsDeleted: counts.groupsDeleted,
    groupsDuplicated: counts.groupsDuplicated,
    usersCreated: counts.usersCreated,
    usersUpdated: counts.usersUpdated + counts.usersMapped,
    usersDeactivated: counts.usersDeactivated,
    usersConflicts: counts.usersConflicts,
    usersIgnored: counts.usersIgnored,
    membershipsAdded: counts.membershipsAdded,
    membershipsRemoved: counts.membershipsRemoved,
  };
}

export interface FailedEntries {
  readonly users: number;
  readonly groups: number;
}

/**
 * Skipped users and groups: the run's failed objects. An unmapped user is unsynced, not failed;
 * a member value left out of its group is listed on the run but is no object of its own.
 */
export function failedEntries(plan: SyncPlan): FailedEntries {
  const unmapped = new Set(plan.users.unmapped.map((u) => u.dn ?? u.directoryId));
  let users = 0;
  let groups = 0;
  for (const s of plan.skipped) {
    if (s.kind === 'group') groups++;
    else if (s.kind !== 'member' && !unmapped.has(s.ref)) users++;
  }
  return { users, groups };
}

/**
 * The counters of a run that found nothing changed since `previous` (the last applying run): no
 * change, and the standing counts (users in conflict, ignored) as that run left them.
 */
export function unchangedCounts(previous: { usersConflicts: number; usersIgnored: number }): PlanCounts {
  return {
    groupsCreated: 0,
    groupsModified: 0,
    groupsDeleted: 0,
    groupsDuplicated: 0,
    usersCreated: 0,
    usersUpdated: 0,
    usersDeactivated: 0,
    usersConflicts: previous.usersConflicts,
    usersIgnored: previous.usersIgnored,
    usersMapped: 0,
    usersUnmapped: 0,
    membershipsAdded: 0,
    membershipsRemoved: 0,
  };
}

/** The summary of such a run: nothing impacted but what stays unsynced or failed, as `previous` left it. */
export function unchangedSummary(previous: { summary: RunSummary | null }): RunSummary {
  const users = previous.summary?.users ?? { impacted: 0, success: 0, unsynced: 0, partial: 0, failed: 0 };
  const groups = previous.summary?.groups ?? { impacted: 0, success: 0, unsynced: 0, partial: 0, failed: 0 };
  return {
    users: { impacted: users.unsynced, success: 0, unsynced: users.unsynced, partial: 0, failed: users.failed },
    groups: { impacted: 0, success: 0, unsynced: 0, partial: 0, failed: groups.failed },
  };
}
