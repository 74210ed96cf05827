/**
 * store/copy.ts on the real PostgreSQL server: what COPY stores is exactly the values given
 * (text with the characters COPY's text format escapes, nulls, booleans, numbers), for rows of
 * values and for integer pairs; an error the server reports rolls the transaction back.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkInsert, bulkInsertPairs } from '../../src/store/copy.ts';
import type { Store } from '../../src/store/db.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await store.db.execute(sql`create table copy_rows (k int, t text, b boolean, n int)`);
  await store.db.execute(sql`create table copy_pairs (a int, b int, primary key (a, b))`);
});
afterAll(() => store?.close());

const TEXTS = ['plain', 'back\\slash', 'tab\there', 'new\nline', 'carriage\rreturn', '\\N', 'all \\\t\n\r of them\\', 'ünïcødé ✓', '', 'trailing\\'];

describe('bulkInsert', () => {
  it('stores each value as given, special characters, nulls and booleans included', async () => {
    const rows = TEXTS.map((t, k) => [k, t, k % 2 === 0, k % 3 === 0 ? null : k * 1000] as const);
    const withNull = [...rows, [rows.length, null, null, null] as const];
    await withTransaction(store.db, (tx) => bulkInsert(tx, 'copy_rows', ['k', 't', 'b', 'n'], withNull.length, (k) => withNull[k]!));
    const stored = await select<{ k: number; t: string | null; b: boolean | null; n: number | null }>(store, 'select k, t, b, n from copy_rows order by k');
    expect(stored.map((r) => [r.k, r.t, r.b, r.n])).toEqual(withNull.map((r) => [...r]));
  });
});

describe('bulkInsertPairs', () => {
  it('stores the pairs, typed arrays or plain ones', async () => {
    const a = Int32Array.from({ length: 3000 }, (_, k) => k % 7);
    const b = Array.from({ length: 3000 }, (_, k) => k);
    await withTransaction(store.db, (tx) => bulkInsertPairs(tx, 'copy_pairs', ['a', 'b'], a, b));
    const stored = await select<{ a: number; b: number }>(store, 'select a, b from copy_pairs order by b');
    expect(stored).toEqual(b.map((v, k) => ({ a: a[k], b: v })));
  });

  it('a load of many chunks (megabytes) stores every pair; one refused among them fails it all', async () => {
    await store.db.execute(sql`delete from copy_pairs`);
    const n = 400_000; // about 5 MB of text: several chunks in flight
    const a = Int32Array.from({ length: n }, (_, k) => k % 1000);
    const b = Int32Array.from({ length: n }, (_, k) => k);
    await withTransaction(store.db, (tx) => bulkInsertPairs(tx, 'copy_pairs', ['a', 'b'], a, b));
    const [stats] = await select<{ n: number; sa: string; sb: string }>(store, 'select count(*)::int as n, sum(a)::text as sa, sum(b)::text as sb from copy_pairs');
    expect(stats).toEqual({ n, sa: String(a.reduce((x, y) => x + y, 0)), sb: String((n * (n - 1)) / 2) });
    await store.db.execute(sql`delete from copy_pairs`);
    b[10] = b[9]!;
    a[10] = a[9]!; // a repeat near the start: the server fails while the client still sends
    await expect(withTransaction(store.db, (tx) => bulkInsertPairs(tx, 'copy_pairs', ['a', 'b'], a, b))).rejects.toMatchObject({ code: '23505' });
    expect(await select(store, 'select count(*)::int as n from copy_pairs')).toEqual([{ n: 0 }]);
  });

  it('a pair the table refuses fails the transaction: nothing is kept', async () => {
    await store.db.execute(sql`delete from copy_pairs`);
    const a = Int32Array.of(1, 2, 1);
    const b = Int32Array.of(5, 5, 5);
    await expect(withTransaction(store.db, (tx) => bulkInsertPairs(tx, 'copy_pairs', ['a', 'b'], a, b))).rejects.toMatchObject({ code: '23505' });
    expect(await select(store, 'select * from copy_pairs')).toEqual([]);
  });
});
