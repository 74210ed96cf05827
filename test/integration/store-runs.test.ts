/** store/runs.ts on the real PostgreSQL server: pages of runs, and the plans of held runs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.ts';
import { createRun, deleteHeldPlan, ensureConnection, getHeldPlan, listAttempts, listRunsPage, saveHeldPlan, updateRun } from '../../src/store/runs.ts';
import type { SyncPlan } from '../../src/sync/plan.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
const ids: number[] = [];
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  await ensureConnection(store.db, 'other', 'ldap');
  for (let k = 0; k < 5; k++) {
    const run = await createRun(store.db, { connection: 'corp', trigger: 'manual', actor: `a${k}`, dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
    ids.push(run.id);
  }
  await createRun(store.db, { connection: 'other', trigger: 'manual', actor: 'x', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
});
afterAll(() => store?.close());

describe('listRunsPage', () => {
  it("a page of the connection's runs, newest first, with the total", async () => {
    const page = await listRunsPage(store.db, 'corp', 1, 2);
    expect(page.total).toBe(5);
    expect(page.items.map((r) => r.id)).toEqual([ids[3], ids[2]]);
    expect((await listRunsPage(store.db, 'corp', 4, 10)).items.map((r) => r.id)).toEqual([ids[0]]);
    expect(await listRunsPage(store.db, 'none', 0, 10)).toEqual({ items: [], total: 0 });
  });
});

describe('listAttempts', () => {
  it("the newest attempts' id, status, times, trigger and error only, not their skipped entries", async () => {
    await updateRun(store.db, ids[4]!, { skipped: Array.from({ length: 3 }, (_, k) => ({ ref: `uid=u${k}`, reason: 'no mail' })) });
    const attempts = await listAttempts(store.db, 'corp', 2);
    expect(attempts.map((a) => a.id)).toEqual([ids[4], ids[3]]);
    expect(Object.keys(attempts[0]!).sort()).toEqual(['error', 'finishedAt', 'id', 'startedAt', 'status', 'trigger']);
    expect(attempts[0]).toMatchObject({ status: 'running', trigger: 'manual', error: null, finishedAt: null });
  });
});

describe('held plans', () => {
  it('saves a plan as it is, reads it back, and deletes it', async () => {
    const plan = {
      connection: 'corp',
      groups: { create: [], update: [], delete: [{ linkId: 1, localGroupId: 2, directoryId: 'g', name: 'Sales', members: 3 }], duplicates: [], relink: [] },
      users: { create: [], map: [], update: [], conflicts: [], unmapped: [], deactivate: [], refresh: [], ignored: 0 },
      memberships: { addGroup: ['new-group'], addUser: [7], removeGroup: [], removeUser: [] },
      skipped: [],
      objectCount: 10,
      membershipCount: 4,
    } satisfies SyncPlan;
    await saveHeldPlan(store.db, ids[0]!, plan);
    expect(await getHeldPlan(store.db, ids[0]!)).toEqual(plan);
    expect(await getHeldPlan(store.db, ids[1]!)).toBeNull();
    await deleteHeldPlan(store.db, ids[0]!);
    expect(await getHeldPlan(store.db, ids[0]!)).toBeNull();
  });
});
