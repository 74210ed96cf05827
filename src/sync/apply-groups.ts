/** The groups step of applying a plan: local groups and links created, recreated, renamed, deleted; duplicates recorded. */
import { allocateIds, deleteGroups, insertDuplicates, insertGroupLinks, insertLocalGroups, relinkGroup, updateGroup } from '../store/apply.ts';
import type { Tx } from '../store/db.ts';
import type { ApplyAudit } from './apply-audit.ts';
import type { GroupFields, Ref, SyncPlan } from './plan.ts';

/** Applies the plan's groups; returns the ids of the local groups it created, by directory id. */
export async function applyGroups(tx: Tx, plan: SyncPlan, runId: number, now: Date, audit: ApplyAudit): Promise<Map<string, number>> {
  const newGroupId = await createGroups(tx, plan, runId, now, audit);
  for (const u of plan.groups.update) {
    await updateGroup(tx, u.linkId, u.localGroupId, u.after);
    audit.add({ action: 'group.modified', targetType: 'group', targetId: String(u.localGroupId), before: u.before, after: u.after });
  }
  await removeGroups(tx, plan, audit);
  await recordDuplicates(tx, plan, now, newGroupId, audit);
  return newGroupId;
}

/** New local groups: for new links, and for links whose local group vanished (relinked). */
async function createGroups(tx: Tx, plan: SyncPlan, runId: number, now: Date, audit: ApplyAudit): Promise<Map<string, number>> {
  const toCreate: GroupFields[] = [...plan.groups.create, ...plan.groups.relink.map((r) => r.fields)];
  const ids = await allocateIds(tx, 'local_groups', toCreate.length);
  const newGroupId = new Map(toCreate.map((g, k) => [g.directoryId, ids[k]!]));
  await insertLocalGroups(tx, ids, toCreate, runId);
  await insertGroupLinks(tx, plan.connection, now, plan.groups.create, newGroupId);
  for (const g of plan.groups.create) audit.created('group', newGroupId.get(g.directoryId)!, g);
  for (const r of plan.groups.relink) {
    const id = newGroupId.get(r.fields.directoryId)!;
    await relinkGroup(tx, r.linkId, id);
    audit.add({ action: 'group.recreated', targetType: 'group', targetId: String(id), before: null, after: r.fields });
  }
  return newGroupId;
}

/** Deleted links with their local groups and memberships; each entry says how many members the group had. */
async function removeGroups(tx: Tx, plan: SyncPlan, audit: ApplyAudit): Promise<void> {
  const gone = plan.groups.delete;
  if (!gone.length) return;
  const localIds = gone.map((d) => d.localGroupId).filter((id): id is number => id !== null);
  const lost = await deleteGroups(tx, gone.map((d) => d.linkId), localIds);
  for (const d of gone) {
    const members = d.localGroupId === null ? 0 : (lost.get(d.localGroupId) ?? 0);
    audit.add({ action: 'group.deleted', targetType: 'group', targetId: String(d.localGroupId), before: { name: d.name, directoryId: d.directoryId, members }, after: null });
  }
}

/** Directory groups whose name a local group has; a duplicate of a group this plan creates refers to it by directory id. */
async function recordDuplicates(tx: Tx, plan: SyncPlan, now: Date, newGroupId: ReadonlyMap<string, number>, audit: ApplyAudit): Promise<void> {
  const localOf = (ref: Ref) => (typeof ref === 'number' ? ref : (newGroupId.get(ref) ?? null));
  const rows = plan.groups.duplicates.map((d) => ({ ...d, localGroupId: localOf(d.localGroupId) }));
  await insertDuplicates(tx, plan.connection, now, rows);
  for (const d of rows) audit.add({ action: 'group.duplicate_detected', targetType: 'group', targetId: String(d.localGroupId), before: null, after: d });
}
