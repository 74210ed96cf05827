/**
 * Planning and applying snapshots against a real store without a directory: what the engine
 * does between its read and its record (store state → plan → apply in one transaction).
 */
import type { DirectorySnapshot } from '../../src/domain/types.ts';
import type { Store } from '../../src/store/db.ts';
import { createRun, ensureConnection } from '../../src/store/runs.ts';
import { loadLinks, loadStoreState } from '../../src/store/sync-state.ts';
import { recheckPlan } from '../../src/sync/recheck.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { applyPlan } from '../../src/sync/apply.ts';
import { type PlanOptions, type StoreState, type SyncPlan, planSync } from '../../src/sync/plan.ts';
import { digestWrites, digestsFor } from '../../src/sync/plan/digest.ts';
import { clearMemberDigests, saveDigests } from '../../src/store/digests.ts';

export function planOptions(connection: string, fields: Partial<PlanOptions> = {}): PlanOptions {
  return { connection, linkKind: 'group', matchKey: 'mail', createUsers: true, partialScope: false, ...fields };
}

/** The plan a full-scope run of `connection` makes of `snapshot` against the store as it is. */
export async function planAgainst(store: Store, snapshot: DirectorySnapshot, options: PlanOptions): Promise<SyncPlan> {
  await ensureConnection(store.db, options.connection, 'ldap');
  const state = await loadStoreState(store.db, options.connection, snapshot, options.matchKey);
  return planSync(snapshot, state, options);
}

/** Applies `plan` as a run of its connection would (one transaction, its own run record). */
export async function applyAs(store: Store, plan: SyncPlan, bulk = false): Promise<void> {
  const run = await createRun(store.db, { connection: plan.connection, trigger: 'manual', actor: 'test', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
  await withTransaction(store.db, (tx) => applyPlan(tx, plan, { actor: 'test', runId: run.id, now: new Date(), defaults: { active: true, attributes: {} }, bulk }));
}

/** Plans and applies `snapshot`: the store as a sync of it leaves it. */
export async function syncSnapshot(store: Store, snapshot: DirectorySnapshot, options: PlanOptions): Promise<SyncPlan> {
  const plan = await planAgainst(store, snapshot, options);
  await applyAs(store, plan);
  return plan;
}

/**
 * One applying run as the engine makes it: the store state loaded with the snapshot's digests
 * (when they can be used), planned, applied, and the digests stored in the same transaction.
 * Returns the plan and the state it was made of.
 */
export async function syncWithDigests(store: Store, snapshot: DirectorySnapshot, options: PlanOptions): Promise<{ plan: SyncPlan; state: StoreState }> {
  await ensureConnection(store.db, options.connection, 'ldap');
  const digests = digestsFor(snapshot, options.partialScope);
  const state = await loadStoreState(store.db, options.connection, snapshot, options.matchKey, digests);
  const plan = planSync(snapshot, state, options);
  const run = await createRun(store.db, { connection: plan.connection, trigger: 'manual', actor: 'test', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
  await withTransaction(store.db, async (tx) => {
    await applyPlan(tx, plan, { actor: 'test', runId: run.id, now: new Date(), defaults: { active: true, attributes: {} }, bulk: true });
    if (digests) await saveDigests(tx, options.connection, digestWrites(snapshot, state, plan, digests));
    else await clearMemberDigests(tx, options.connection);
  });
  return { plan, state };
}

/** A held plan approved as the engine approves it: re-checked, applied, the groups' digests forgotten. */
export async function approveLike(store: Store, plan: SyncPlan, matchKey: PlanOptions['matchKey']): Promise<void> {
  const { plan: checked } = await recheckPlan(store.db, plan, await loadLinks(store.db, plan.connection), matchKey);
  const run = await createRun(store.db, { connection: plan.connection, trigger: 'manual', actor: 'test', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
  await withTransaction(store.db, async (tx) => {
    await applyPlan(tx, checked, { actor: 'test', runId: run.id, now: new Date(), defaults: { active: true, attributes: {} }, bulk: false });
    await clearMemberDigests(tx, plan.connection);
  });
}
