/**
 * A mapping's local user on the real PostgreSQL server (migrations/0017): checked per statement by
 * triggers instead of a foreign key, with the key's rules: an unknown local user is refused (row by
 * row, upserted or copied), a deleted local user leaves its mappings without one, a local user
 * that mappings name cannot be renumbered nor truncated away, and a local user's deletion waits
 * for a transaction writing a mapping that names it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateIds, insertFreshMappings, insertLocalUsers, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import { ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';
import { statementWhileHeld } from '../support/held-writer.ts';
import { select } from '../support/store-reads.ts';

let store: Store;
/** Local users made for a test, by login. */
const made = async (n: number): Promise<number[]> => {
  const ids = await allocateIds(store.db, 'local_users', n);
  await insertLocalUsers(store.db, 'c', ids, ids.map((id) => ({ login: `l${id}`, mail: null, displayName: null, active: true })), {});
  return ids;
};
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'c', 'ldap');
});
afterAll(() => store?.close());

const user = (id: string) => ({ directoryId: id, dn: null, login: id, mail: null, displayName: null, enabled: true });
const row = (id: string, localUserId: number | null) => ({ ...user(id), status: localUserId === null ? ('unmapped' as const) : ('mapped' as const), localUserId, candidates: [], reason: null, inScope: true });
const localOf = async (directoryId: string) =>
  (await select<{ local_user_id: number | null }>(store, `select local_user_id from mappings where connection = 'c' and directory_id = '${directoryId}'`))[0]?.local_user_id;
/** The SQLSTATE a statement failed with (drizzle wraps it in `cause`; a COPY throws it as it is). */
const codeOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: { code?: string; cause?: { code?: string } }) => e.cause?.code ?? e.code);
const MISSING = 2_000_000_000;

describe('the local user of a mapping', () => {
  it('must exist: an insert, an upsert or a copy naming an unknown local user is refused and writes nothing', async () => {
    const [known] = await made(1);
    expect(await codeOf(select(store, `insert into mappings (connection, directory_id, status, local_user_id) values ('c', 'i1', 'mapped', ${known}), ('c', 'i2', 'mapped', ${MISSING})`))).toBe('23503');
    expect(await codeOf(upsertMappings(store.db, 'c', [row('i3', known!), row('i4', MISSING)]))).toBe('23503');
    expect(await codeOf(withTransaction(store.db, (tx) => insertFreshMappings(tx, 'c', [user('i5'), user('i6')], new Map([['i5', known!], ['i6', MISSING]]))))).toBe('23503');
    expect(await select(store, `select count(*)::int as n from mappings where directory_id like 'i_'`)).toEqual([{ n: 0 }]);
    const [other] = await made(1);
    await withTransaction(store.db, (tx) => insertFreshMappings(tx, 'c', [user('i5'), user('i6')], new Map([['i5', known!], ['i6', other!]])));
    expect([await localOf('i5'), await localOf('i6')]).toEqual([known, other]);
  });

  it('can be changed only to one that exists; other changes of a mapping are not checked again', async () => {
    const [first, second] = await made(2);
    await upsertMappings(store.db, 'c', [row('u1', first!)]);
    expect(await codeOf(select(store, `update mappings set local_user_id = ${MISSING} where directory_id = 'u1'`))).toBe('23503');
    expect(await localOf('u1')).toBe(first);
    await select(store, `update mappings set local_user_id = ${second} where directory_id = 'u1'`);
    expect(await localOf('u1')).toBe(second);
    await select(store, `update mappings set login = 'renamed', local_user_id = null where directory_id = 'u1'`);
    expect(await localOf('u1')).toBeNull();
  });

  it('leaves its mappings without a local user when deleted, and their digests are forgotten', async () => {
    const [gone, stays] = await made(2);
    await upsertMappings(store.db, 'c', [row('d1', gone!), row('d2', gone!), row('d3', stays!)]);
    await select(store, `insert into user_digests (connection, directory_id, digest) values ('c', 'd1', 'x'), ('c', 'd3', 'y')`);
    await select(store, `delete from local_users where id = ${gone}`);
    expect([await localOf('d1'), await localOf('d2'), await localOf('d3')]).toEqual([null, null, stays]);
    expect(await select(store, `select directory_id from user_digests where connection = 'c' and directory_id in ('d1', 'd3') order by 1`)).toEqual([{ directory_id: 'd3' }]);
  });

  it('cannot be renumbered nor truncated away while mappings name it', async () => {
    const [named, free] = await made(2);
    await upsertMappings(store.db, 'c', [row('r1', named!)]);
    expect(await codeOf(select(store, `update local_users set id = ${MISSING} where id = ${named}`))).toBe('23503');
    await select(store, `update local_users set id = ${MISSING - 1} where id = ${free}`);
    expect(await codeOf(select(store, `truncate local_users cascade`))).toBe('23503');
    expect(await localOf('r1')).toBe(named);
  });

  it("a local user's deletion waits for a transaction that writes a mapping naming it (no mapping names a user that is gone)", async () => {
    const [busy] = await made(1);
    const deletion = await statementWhileHeld(store, (tx) => upsertMappings(tx, 'c', [row('w1', busy!)]), `delete from local_users where id = ${busy}`);
    expect(deletion).toBe('55P03');
    expect(await localOf('w1')).toBe(busy);
    await select(store, `delete from local_users where id = ${busy}`);
    expect(await localOf('w1')).toBeNull();
  });
});
