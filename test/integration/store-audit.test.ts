/** store/audit.ts on the real PostgreSQL server: bulk-written audit entries, read back per run. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAudit, listRunAudit } from '../../src/store/audit.ts';
import type { Store } from '../../src/store/db.ts';
import { createRun, ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
});
afterAll(() => store?.close());

const newRun = () => createRun(store.db, { connection: 'corp', trigger: 'manual', actor: 'test', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });

describe('insertAudit', () => {
  it('writes every entry with actor, connection and run; before/after as JSON, null kept null', async () => {
    const run = await newRun();
    await withTransaction(store.db, (tx) =>
      insertAudit(tx, 'cli:alice', 'corp', run.id, [
        { action: 'group.created', targetType: 'group', targetId: '7', before: null, after: { name: 'Tab\there', quote: "it's \\ fine" } },
        { action: 'user.disabled', targetType: 'user', targetId: '9', before: { active: true }, after: { active: false } },
      ]),
    );
    const rows = await select<{ actor: string; action: string; connection: string; run_id: number; before: unknown; after: unknown }>(
      store,
      `select actor, action, connection, run_id, before, after from audit_log where run_id = ${run.id} order by id`,
    );
    expect(rows).toEqual([
      { actor: 'cli:alice', action: 'group.created', connection: 'corp', run_id: run.id, before: null, after: { name: 'Tab\there', quote: "it's \\ fine" } },
      { actor: 'cli:alice', action: 'user.disabled', connection: 'corp', run_id: run.id, before: { active: true }, after: { active: false } },
    ]);
  });

  it('writes nothing for no entries; an entry without a run or connection is kept', async () => {
    const before = await select<{ n: number }>(store, 'select count(*)::int as n from audit_log');
    await insertAudit(store.db, 'x', null, null, []);
    await insertAudit(store.db, 'slack:bob', null, null, [{ action: 'alerts.subscribed', targetType: 'conversation', targetId: 'slack:C1', before: null, after: null }]);
    const after = await select<{ n: number }>(store, 'select count(*)::int as n from audit_log');
    expect(after[0]!.n).toBe(before[0]!.n + 1);
  });
});

describe('listRunAudit', () => {
  it('gives the first entries of a run in order, and the run total', async () => {
    const run = await newRun();
    const other = await newRun();
    const entries = Array.from({ length: 5 }, (_, k) => ({ action: `a${k}`, targetType: 't', targetId: String(k), before: null, after: null }));
    await insertAudit(store.db, 'x', 'corp', run.id, entries);
    await insertAudit(store.db, 'x', 'corp', other.id, entries.slice(0, 1));
    const { entries: first, total } = await listRunAudit(store.db, run.id, 3);
    expect(first.map((e) => e.action)).toEqual(['a0', 'a1', 'a2']);
    expect(first[0]).toMatchObject({ runId: run.id, connection: 'corp', targetId: '0' });
    expect(total).toBe(5);
    expect(await listRunAudit(store.db, 999_999, 10)).toEqual({ entries: [], total: 0 });
  });
});
