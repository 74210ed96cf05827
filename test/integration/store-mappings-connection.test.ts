/**
 * A mapping's connection on the real PostgreSQL server (migrations/0015): checked per statement by
 * triggers instead of a foreign key, with the key's rules: an unknown connection is refused (row
 * by row or copied), a deleted connection takes its mappings along, a connection that mappings
 * name cannot be renamed, and a connection's deletion waits for a transaction writing its mappings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertFreshMappings, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { statementWhileHeld } from '../support/held-writer.ts';
import { openTestStore } from '../support/app.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
let locals: number[];
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'known', 'ldap');
  locals = await allocateIds(store.db, 'local_users', 2);
  await insertLocalUsers(store.db, 'known', locals, locals.map((id) => ({ login: `l${id}`, mail: null, displayName: null, active: true })), {});
});
afterAll(() => store?.close());

const user = (id: string) => ({ directoryId: id, dn: null, login: id, mail: null, displayName: null, enabled: true });
const row = (id: string) => ({ ...user(id), status: 'unmapped' as const, localUserId: null, candidates: [], reason: null, inScope: true });
const mappingsOf = async (c: string) => (await select<{ directory_id: string }>(store, `select directory_id from mappings where connection = '${c}' order by 1`)).map((r) => r.directory_id);
/** The SQLSTATE a statement failed with (drizzle wraps it in `cause`; a COPY throws it as it is). */
const codeOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: { code?: string; cause?: { code?: string } }) => e.cause?.code ?? e.code);

describe('the connection of a mapping', () => {
  it('must exist: an insert, an upsert or a copy naming an unknown connection is refused and writes nothing', async () => {
    expect(await codeOf(select(store, `insert into mappings (connection, directory_id, status) values ('known', 'a', 'unmapped'), ('ghost', 'b', 'unmapped')`))).toBe('23503');
    expect(await codeOf(upsertMappings(store.db, 'ghost', [row('c')]))).toBe('23503');
    expect(await codeOf(withTransaction(store.db, (tx) => insertFreshMappings(tx, 'ghost', [user('d'), user('e')], new Map([['d', locals[0]!], ['e', locals[1]!]]))))).toBe('23503');
    expect(await select(store, `select count(*)::int as n from mappings where directory_id in ('a', 'b', 'c', 'd', 'e')`)).toEqual([{ n: 0 }]);
    await upsertMappings(store.db, 'known', [row('a')]);
    expect(await mappingsOf('known')).toEqual(['a']);
  });

  it('cannot be moved to a connection that does not exist', async () => {
    await ensureConnection(store.db, 'mover', 'ldap');
    await upsertMappings(store.db, 'mover', [row('m1')]);
    expect(await codeOf(select(store, `update mappings set connection = 'nowhere' where connection = 'mover'`))).toBe('23503');
    expect(await mappingsOf('mover')).toEqual(['m1']);
  });

  it('takes its mappings along when deleted, and cannot be renamed while mappings name it', async () => {
    await ensureConnection(store.db, 'gone', 'ldap');
    await ensureConnection(store.db, 'stays', 'ldap');
    await upsertMappings(store.db, 'gone', [row('g1'), row('g2')]);
    await upsertMappings(store.db, 'stays', [row('s1')]);
    expect(await codeOf(select(store, `update connections set name = 'renamed' where name = 'stays'`))).toBe('23503');
    await select(store, `delete from connections where name = 'gone'`);
    expect(await mappingsOf('gone')).toEqual([]);
    expect(await mappingsOf('stays')).toEqual(['s1']);
    await ensureConnection(store.db, 'empty', 'ldap');
    await select(store, `update connections set name = 'empty-renamed' where name = 'empty'`);
  });

  it("a connection's deletion waits for a transaction that writes its mappings (no mapping is left without its connection)", async () => {
    await ensureConnection(store.db, 'busy', 'ldap');
    const deletion = await statementWhileHeld(store, (tx) => upsertMappings(tx, 'busy', [row('w1'), row('w2')]), `delete from connections where name = 'busy'`);
    expect(deletion).toBe('55P03');
    expect(await mappingsOf('busy')).toEqual(['w1', 'w2']);
  });
});
