/**
 * Applies a plan in one transaction: after a crash the store is as before the run or as after
 * it, never half-written. This module says which part of the plan is written in which order and
 * what the audit log says about it; the set-based statements are in store/apply.ts.
 */
import { GroupsyncError } from '../errors.ts';
import {
  type MappingWrite,
  addMemberships,
  allocateIds,
  deactivateUsers,
  deleteGroups,
  insertDuplicates,
  insertFreshMappings,
  insertGroupLinks,
  insertLocalGroups,
  insertLocalUsers,
  relinkGroup,
  removeMemberships,
  updateGroup,
  updateLocalUsers,
  upsertMappings,
} from '../store/apply.ts';
import { type AuditRow, insertAudit } from '../store/audit.ts';
import type { Tx } from '../store/db.ts';
import type { GroupFields, Ref, SyncPlan } from './plan.ts';

export interface ApplyResult {
  readonly createdGroups: number;
  readonly createdUsers: number;
  readonly audit: number;
}

export interface ApplyContext {
  readonly actor: string;
  readonly runId: number;
  readonly now: Date;
  readonly defaults: { active: boolean; attributes: Record<string, string> };
  /** The plan was made now, under the run lock: its new rows cannot exist yet (bulk COPY). False for a held plan. */
  readonly bulk: boolean;
}

/** Applies `plan` inside `tx`. The caller owns the transaction and the run record. */
export async function applyPlan(tx: Tx, plan: SyncPlan, context: ApplyContext): Promise<ApplyResult> {
  const audit: AuditRow[] = [];
  const newGroupId = await applyGroups(tx, plan, context.now, audit);
  const newUserId = await applyUsers(tx, plan, context, audit);
  await applyMappings(tx, plan, context.bulk, newUserId, audit);
  await applyMemberships(tx, plan, context.bulk, newGroupId, newUserId, audit);
  await insertAudit(tx, context.actor, plan.connection, context.runId, audit);
  return { createdGroups: plan.groups.create.length + plan.groups.relink.length, createdUsers: plan.users.create.length, audit: audit.length };
}

/** Local groups and links: created, recreated, renamed, deleted; duplicates recorded. Returns the new groups' ids by directory id. */
async function applyGroups(tx: Tx, plan: SyncPlan, now: Date, audit: AuditRow[]): Promise<Map<string, number>> {
  const c = plan.connection;
  const newGroupId = new Map<string, number>();
  const toCreate: GroupFields[] = [...plan.groups.create, ...plan.groups.relink.map((r) => r.fields)];
  const groupIds = await allocateIds(tx, 'local_groups', toCreate.length);
  toCreate.forEach((g, k) => newGroupId.set(g.directoryId, groupIds[k]!));
  await insertLocalGroups(tx, groupIds, toCreate);
  await insertGroupLinks(tx, c, now, plan.groups.create, newGroupId);
  for (const g of plan.groups.create) {
    audit.push({ action: 'group.created', targetType: 'group', targetId: String(newGroupId.get(g.directoryId)), before: null, after: g });
  }
  for (const r of plan.groups.relink) {
    await relinkGroup(tx, r.linkId, newGroupId.get(r.fields.directoryId)!);
    audit.push({ action: 'group.recreated', targetType: 'group', targetId: String(newGroupId.get(r.fields.directoryId)), before: null, after: r.fields });
  }
  for (const u of plan.groups.update) {
    await updateGroup(tx, u.linkId, u.localGroupId, u.after);
    audit.push({ action: 'group.modified', targetType: 'group', targetId: String(u.localGroupId), before: u.before, after: u.after });
  }
  if (plan.groups.delete.length) {
    const localIds = plan.groups.delete.map((d) => d.localGroupId).filter((id): id is number => id !== null);
    const lost = await deleteGroups(tx, plan.groups.delete.map((d) => d.linkId), localIds);
    for (const d of plan.groups.delete) {
      const members = d.localGroupId === null ? 0 : (lost.get(d.localGroupId) ?? 0);
      audit.push({ action: 'group.deleted', targetType: 'group', targetId: String(d.localGroupId), before: { name: d.name, directoryId: d.directoryId, members }, after: null });
    }
  }
  // A duplicate of a group this plan creates refers to it by directory id.
  const localOf = (ref: Ref) => (typeof ref === 'number' ? ref : newGroupId.get(ref));
  await insertDuplicates(tx, c, now, plan.groups.duplicates.map((d) => ({ ...d, localGroupId: localOf(d.localGroupId) ?? null })));
  for (const d of plan.groups.duplicates) {
    const local = localOf(d.localGroupId);
    audit.push({ action: 'group.duplicate_detected', targetType: 'group', targetId: String(local), before: null, after: { ...d, localGroupId: local } });
  }
  return newGroupId;
}

/** Local users: created, updated, deactivated. Returns the new users' ids by directory id. */
async function applyUsers(tx: Tx, plan: SyncPlan, context: ApplyContext, audit: AuditRow[]): Promise<Map<string, number>> {
  const c = plan.connection;
  const newUserId = new Map<string, number>();
  const created = plan.users.create;
  const userIds = await allocateIds(tx, 'local_users', created.length);
  created.forEach((u, k) => newUserId.set(u.directoryId, userIds[k]!));
  await insertLocalUsers(tx, c, userIds, created.map((u) => ({ ...u, active: u.enabled && context.defaults.active })), context.defaults.attributes);
  for (const { known: _known, ...u } of created) {
    audit.push({ action: 'user.created', targetType: 'user', targetId: String(newUserId.get(u.directoryId)), before: null, after: u });
  }
  await updateLocalUsers(tx, plan.users.update);
  for (const x of plan.users.update) {
    audit.push({
      action: x.before.active && !x.after.active ? 'user.disabled' : !x.before.active && x.after.active ? 'user.reactivated' : 'user.updated',
      targetType: 'user',
      targetId: String(x.localUserId),
      before: { login: x.before.login, mail: x.before.mail, displayName: x.before.displayName, active: x.before.active },
      after: { login: x.after.login, mail: x.after.mail, displayName: x.after.displayName, active: x.after.active },
    });
  }
  await deactivateUsers(tx, c, plan.users.deactivate);
  for (const d of plan.users.deactivate) {
    audit.push({ action: 'user.deactivated', targetType: 'user', targetId: String(d.localUserId), before: { active: true, login: d.login }, after: { active: false, reason: d.reason } });
  }
  return newUserId;
}

/**
 * Mappings of users seen for the first time are new rows: bulk-inserted (under the run lock).
 * A user created now who already has a row (unmapped or in conflict before, or whose local
 * user vanished) and every row of a held plan are upserted.
 */
async function applyMappings(tx: Tx, plan: SyncPlan, bulk: boolean, newUserId: ReadonlyMap<string, number>, audit: AuditRow[]): Promise<void> {
  const created = plan.users.create;
  await insertFreshMappings(tx, plan.connection, bulk ? created.filter((u) => !u.known) : [], newUserId);
  const rows: MappingWrite[] = [];
  for (const u of created) {
    if (bulk && !u.known) continue;
    rows.push({ ...u, status: 'mapped', localUserId: newUserId.get(u.directoryId)!, candidates: [], reason: null, inScope: true });
  }
  for (const u of plan.users.map) {
    rows.push({ ...u, status: 'mapped', localUserId: u.localUserId, candidates: [], reason: null, inScope: true });
    audit.push({ action: 'user.mapped', targetType: 'user', targetId: String(u.localUserId), before: null, after: { directoryId: u.directoryId, by: 'match key' } });
  }
  for (const x of plan.users.update) rows.push({ ...x.after, status: null, localUserId: null, candidates: null, reason: null, inScope: true });
  for (const u of plan.users.conflicts) {
    if (u.unchanged) continue;
    rows.push({ ...u, status: 'conflict', localUserId: null, candidates: u.candidates, reason: `${u.candidates.length} local candidates`, inScope: true });
    audit.push({ action: 'user.conflict', targetType: 'directory_user', targetId: u.directoryId, before: null, after: { candidates: u.candidates } });
  }
  for (const u of plan.users.unmapped) {
    if (u.unchanged) continue;
    rows.push({ ...u, status: 'unmapped', localUserId: null, candidates: [], reason: u.reason, inScope: true });
  }
  for (const u of plan.users.refresh) rows.push({ ...u, status: null, localUserId: null, candidates: null, reason: null });
  await upsertMappings(tx, plan.connection, rows);
}

/** Memberships added and removed, with one audit entry per group whose members changed. */
async function applyMemberships(
  tx: Tx,
  plan: SyncPlan,
  bulk: boolean,
  newGroupId: ReadonlyMap<string, number>,
  newUserId: ReadonlyMap<string, number>,
  audit: AuditRow[],
): Promise<void> {
  const m = plan.memberships;
  const addG = m.addGroup.map((ref: Ref) => (typeof ref === 'number' ? ref : newGroupId.get(ref)!));
  const addU = m.addUser.map((ref: Ref) => (typeof ref === 'number' ? ref : newUserId.get(ref)!));
  if (addG.some((g) => g === undefined) || addU.some((u) => u === undefined)) {
    throw new GroupsyncError('INVALID_STATE', 'the plan references an object it does not create; nothing was applied');
  }
  await addMemberships(tx, addG, addU, bulk);
  await removeMemberships(tx, m.removeGroup, m.removeUser);
  const perGroup = new Map<number, { added: number[]; removed: number[] }>();
  const entry = (g: number) => {
    let e = perGroup.get(g);
    if (!e) perGroup.set(g, (e = { added: [], removed: [] }));
    return e;
  };
  addG.forEach((g, k) => entry(g).added.push(addU[k]!));
  m.removeGroup.forEach((g, k) => entry(g).removed.push(m.removeUser[k]!));
  for (const [g, e] of perGroup) audit.push({ action: 'group.members_changed', targetType: 'group', targetId: String(g), before: { removed: e.removed }, after: { added: e.added } });
}
