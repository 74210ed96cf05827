/**
 * Applies a plan in one transaction: after a crash the store is as before the run or as after
 * it, never half-written. This module says which step is written in which order; each step is a
 * module of its own (apply-groups, apply-users, apply-memberships), what the audit log says about
 * them is apply-audit.ts, and the set-based statements are in store/apply.ts.
 */
import { insertAudit } from '../store/audit.ts';
import type { BulkLoadOptions } from '../store/bulk-load.ts';
import type { Tx } from '../store/db.ts';
import { ApplyAudit } from './apply-audit.ts';
import { applyGroups } from './apply-groups.ts';
import { applyMemberships } from './apply-memberships.ts';
import { type UserDefaults, applyMappings, applyUsers } from './apply-users.ts';
import type { SyncPlan } from './plan.ts';

export interface ApplyResult {
  readonly createdGroups: number;
  readonly createdUsers: number;
  readonly audit: number;
}

export interface ApplyContext {
  readonly actor: string;
  readonly runId: number;
  readonly now: Date;
  readonly defaults: UserDefaults;
  /** The plan was made now, under the run lock: its new rows cannot exist yet (bulk COPY). False for a held plan. */
  readonly bulk: boolean;
  /** When new local users and memberships are loaded without per-row checks (store/bulk-load.ts); its defaults otherwise. */
  readonly load?: BulkLoadOptions;
  /** Told as each step starts (the run's progress: "writing users"). */
  readonly onStep?: (step: ApplyStep) => void;
}

export type ApplyStep = 'groups' | 'users' | 'memberships' | 'audit';

/** Applies `plan` inside `tx`. The caller owns the transaction and the run record. */
export async function applyPlan(tx: Tx, plan: SyncPlan, context: ApplyContext): Promise<ApplyResult> {
  const audit = new ApplyAudit(plan, context.runId);
  context.onStep?.('groups');
  const newGroupId = await applyGroups(tx, plan, context.runId, context.now, audit);
  context.onStep?.('users');
  const load = { bulk: context.bulk, options: context.load };
  const newUserId = await applyUsers(tx, plan, context.runId, context.defaults, audit, load);
  await applyMappings(tx, plan, context.bulk, newUserId, audit);
  context.onStep?.('memberships');
  await applyMemberships(tx, plan, { bulk: context.bulk, newGroupId, newUserId, ...(context.load ? { load: context.load } : {}) }, audit);
  context.onStep?.('audit');
  const entries = audit.entries();
  await insertAudit(tx, context.actor, plan.connection, context.runId, entries);
  return { createdGroups: plan.groups.create.length + plan.groups.relink.length, createdUsers: plan.users.create.length, audit: entries.length };
}
