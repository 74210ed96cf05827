/** The users step of applying a plan: local users created, updated, deactivated, and the mapping rows of directory users. */
import { conflictReason } from '../domain/conflict.ts';
import { type BulkLoadOptions, LOCAL_USERS, bulkLoad } from '../store/bulk-load.ts';
import { type MappingWrite, allocateIds, deactivateUsers, insertFreshMappings, insertLocalUsers, updateLocalUsers, upsertMappings } from '../store/apply.ts';
import type { Executor, Tx } from '../store/db.ts';
import type { ApplyAudit } from './apply-audit.ts';
import type { SyncPlan } from './plan.ts';

/** `bulk`: the plan was made now, under the run lock (its new rows cannot exist); large loads then go without per-row checks (store/bulk-load.ts). */
export interface Load {
  readonly bulk: boolean;
  readonly options?: BulkLoadOptions | undefined;
}

export interface UserDefaults {
  readonly active: boolean;
  readonly attributes: Record<string, string>;
}

/** Applies the plan's local users; returns the ids of those it created, by directory id. */
export async function applyUsers(tx: Tx, plan: SyncPlan, runId: number, defaults: UserDefaults, audit: ApplyAudit, load: Load): Promise<Map<string, number>> {
  const created = plan.users.create;
  const ids = await allocateIds(tx, 'local_users', created.length);
  const newUserId = new Map(created.map((u, k) => [u.directoryId, ids[k]!]));
  const insert = (ex: Executor) => insertLocalUsers(ex, plan.connection, ids, created, defaults.attributes, runId, (u) => u.enabled && defaults.active);
  // New ids: nothing to conflict with, but a large load waits for the locks of a plan made now only.
  if (load.bulk) await bulkLoad(tx, LOCAL_USERS, created.length, insert, load.options);
  else await insert(tx);
  // A run that creates many counts them (apply-audit.ts): no copy of each user for an entry.
  if (audit.summarizing) audit.createdCount('user', created.length);
  else for (const { known: _known, ...u } of created) audit.created('user', newUserId.get(u.directoryId)!, u);
  await updateLocalUsers(tx, plan.users.update);
  for (const x of plan.users.update) {
    const { before: b, after: a } = x;
    audit.add({
      action: b.active && !a.active ? 'user.disabled' : !b.active && a.active ? 'user.reactivated' : 'user.updated',
      targetType: 'user',
      targetId: String(x.localUserId),
      before: { login: b.login, mail: b.mail, displayName: b.displayName, active: b.active },
      after: { login: a.login, mail: a.mail, displayName: a.displayName, active: a.active },
    });
  }
  await deactivateUsers(tx, plan.connection, plan.users.deactivate);
  for (const d of plan.users.deactivate) {
    audit.add({ action: 'user.deactivated', targetType: 'user', targetId: String(d.localUserId), before: { active: true, login: d.login }, after: { active: false, reason: d.reason } });
  }
  return newUserId;
}

/**
 * Mappings of users seen for the first time are new rows: bulk-inserted (`bulk`: under the run
 * lock). A user created now who already has a row (unmapped or in conflict before, or whose local
 * user vanished) and every row of a held plan are upserted.
 */
export async function applyMappings(tx: Tx, plan: SyncPlan, bulk: boolean, newUserId: ReadonlyMap<string, number>, audit: ApplyAudit): Promise<void> {
  const created = plan.users.create;
  await insertFreshMappings(tx, plan.connection, bulk ? created.filter((u) => !u.known) : [], newUserId);
  const rows: MappingWrite[] = [];
  for (const u of created) {
    if (bulk && !u.known) continue;
    rows.push({ ...u, status: 'mapped', localUserId: newUserId.get(u.directoryId)!, candidates: [], reason: null, inScope: true });
  }
  for (const u of plan.users.map) {
    rows.push({ ...u, status: 'mapped', localUserId: u.localUserId, candidates: [], reason: null, inScope: true });
    audit.add({ action: 'user.mapped', targetType: 'user', targetId: String(u.localUserId), before: null, after: { directoryId: u.directoryId, by: 'match key' } });
  }
  for (const x of plan.users.update) rows.push({ ...x.after, status: null, localUserId: null, candidates: null, reason: null, inScope: true });
  for (const u of plan.users.conflicts) {
    if (u.unchanged) continue;
    rows.push({ ...u, status: 'conflict', localUserId: null, candidates: u.candidates, reason: conflictReason(u.candidates.length), inScope: true });
    audit.add({ action: 'user.conflict', targetType: 'directory_user', targetId: u.directoryId, before: null, after: { candidates: u.candidates } });
  }
  for (const u of plan.users.unmapped) {
    if (u.unchanged) continue;
    rows.push({ ...u, status: 'unmapped', localUserId: null, candidates: [], reason: u.reason, inScope: true });
  }
  for (const u of plan.users.refresh) rows.push({ ...u, status: null, localUserId: null, candidates: null, reason: null });
  await upsertMappings(tx, plan.connection, rows);
}
