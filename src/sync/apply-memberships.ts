/** The memberships step of applying a plan: pairs added (a large load in bulk) and removed, audited per group. */
import { GroupsyncError } from '../errors.ts';
import { addMemberships, removeMemberships } from '../store/apply.ts';
import type { BulkLoadOptions } from '../store/bulk-load.ts';
import type { Tx } from '../store/db.ts';
import type { ApplyAudit } from './apply-audit.ts';
import type { Ref, SyncPlan } from './plan.ts';

export interface MembershipContext {
  /** The pairs were found absent under the run lock (a plan made now, not a held one). */
  readonly bulk: boolean;
  readonly newGroupId: ReadonlyMap<string, number>;
  readonly newUserId: ReadonlyMap<string, number>;
  readonly load?: BulkLoadOptions;
}

/** Applies the plan's memberships, with one audit entry per group whose members changed. */
export async function applyMemberships(tx: Tx, plan: SyncPlan, context: MembershipContext, audit: ApplyAudit): Promise<void> {
  const m = plan.memberships;
  const groups = resolve(m.addGroup, context.newGroupId);
  const users = resolve(m.addUser, context.newUserId);
  await addMemberships(tx, groups, users, context.bulk, context.load);
  await removeMemberships(tx, m.removeGroup, m.removeUser);
  auditMemberships(groups, users, m.removeGroup, m.removeUser, new Set(context.newGroupId.values()), audit);
}

/** Local ids of member references: a number is one; a string is the directory id of an object this plan creates. */
export function resolve(refs: readonly Ref[], created: ReadonlyMap<string, number>): Int32Array {
  const ids = new Int32Array(refs.length);
  for (let k = 0; k < refs.length; k++) {
    const ref = refs[k]!;
    const id = typeof ref === 'number' ? ref : created.get(ref);
    if (id === undefined) throw new GroupsyncError('INVALID_STATE', 'the plan references an object it does not create; nothing was applied');
    ids[k] = id;
  }
  return ids;
}

function auditMemberships(
  addGroup: Int32Array,
  addUser: Int32Array,
  removeGroup: readonly number[],
  removeUser: readonly number[],
  fresh: ReadonlySet<number>,
  audit: ApplyAudit,
): void {
  const perGroup = new Map<number, { added: number[]; removed: number[] }>();
  const entry = (g: number) => {
    let e = perGroup.get(g);
    if (!e) perGroup.set(g, (e = { added: [], removed: [] }));
    return e;
  };
  for (let k = 0; k < addGroup.length; k++) entry(addGroup[k]!).added.push(addUser[k]!);
  for (let k = 0; k < removeGroup.length; k++) entry(removeGroup[k]!).removed.push(removeUser[k]!);
  for (const [g, e] of perGroup) audit.membersChanged(g, e.added, e.removed, fresh.has(g));
}
