/**
 * Every transition of a directory user's mapping between its states, on both stores, against a
 * real slapd: each run succeeds, the user lands in the state the directory and the admin asked
 * for, a further sync changes nothing, and no local account is lost or doubled.
 *
 * States of the user under test (t), with a partner (p) in the same linked group:
 * - unmapped: t has no mail (the match key);
 * - conflict: t and p share one mail;
 * - ignored: an admin ignored t;
 * - mapped: t has a mail of its own (created or matched);
 * - out-of-scope: t left the linked group;
 * - orphaned: t was mapped, and another application deleted its local user.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Driver, DRIVERS, type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows, storeFingerprint } from '../support/store.ts';

const STATES = ['unmapped', 'conflict', 'ignored', 'mapped', 'out-of-scope', 'orphaned'] as const;
type State = (typeof STATES)[number];

const BASE = 'dc=example,dc=org';
const CASES: Array<[State, State]> = [];
for (const from of STATES) {
  for (const to of STATES) {
    // Orphaning acts on a mapped user in scope: from out-of-scope it is mapped → orphaned again.
    if (!(to === 'orphaned' && from === 'out-of-scope')) CASES.push([from, to]);
  }
}

interface Case {
  readonly n: number;
  /** Each case has a connection of its own (one app per store, so the cases stay fast). */
  readonly connection: string;
  readonly t: string;
  readonly p: string;
  readonly group: string;
}

function entries(c: Case): string {
  const user = (uid: string) => `dn: uid=${uid},ou=people,${BASE}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid}
sn: ${uid}
displayName: User ${uid}
mail: ${uid}@example.org`;
  return [
    user(c.t),
    user(c.p),
    `dn: cn=${c.group},ou=groups,${BASE}
objectClass: groupOfNames
cn: ${c.group}
member: uid=${c.t},ou=people,${BASE}
member: uid=${c.p},ou=people,${BASE}`,
  ].join('\n\n');
}

const modify = (dn: string, ...changes: string[]) => `dn: ${dn}\nchangetype: modify\n${changes.join('\n-\n')}\n`;

describe.each(DRIVERS)('mapping state transitions on %s', (driver: Driver) => {
  let ldap: SlapdHandle;
  let app: TestApp;
  const caseOf = (k: number): Case => ({ n: k, connection: `c${k}`, t: `t${driver}${k}`, p: `p${driver}${k}`, group: `g${driver}${k}` });

  beforeAll(async () => {
    ldap = await startSlapd();
    const connections = CASES.map((_, k) => {
      const c = caseOf(k);
      return ldapConnection(ldap, { name: c.connection, groups: { filter: `(cn=${c.group})` } });
    });
    app = await createTestApp(driver, connections);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const userDn = (uid: string) => `uid=${uid},ou=people,${BASE}`;
  const groupDn = (c: Case) => `cn=${c.group},ou=groups,${BASE}`;

  async function mapping(a: TestApp, uid: string) {
    const [m] = await rows<{ status: string; in_scope: boolean; local_user_id: number | null }>(
      a,
      `select status, in_scope, local_user_id from mappings where login = '${uid}'`,
    );
    return m;
  }

  async function sync(a: TestApp, c: Case) {
    const result = await a.engine.sync({ connection: c.connection, trigger: 'manual', actor: 'test' });
    expect(result.run.error ?? null).toBeNull();
    expect(['success', 'partial']).toContain(result.run.status);
    return result;
  }

  async function setMail(uid: string, mail: string | null) {
    await ldap.load(modify(userDn(uid), mail === null ? 'replace: mail' : `replace: mail\nmail: ${mail}`));
  }

  async function setInGroup(c: Case, inGroup: boolean) {
    const current = await membersIn(c);
    if (current.has(c.t) === inGroup) return;
    await ldap.load(modify(groupDn(c), `${inGroup ? 'add' : 'delete'}: member\nmember: ${userDn(c.t)}`));
  }

  async function membersIn(c: Case): Promise<Set<string>> {
    // The group's members as groupsync last read them is not what we want here: ask slapd.
    const { Client } = await import('ldapts');
    const client = new Client({ url: ldap.url });
    try {
      await client.bind(ldap.adminDn, ldap.adminPassword);
      const { searchEntries } = await client.search(groupDn(c), { scope: 'base', attributes: ['member'] });
      const values = searchEntries[0]?.member ?? [];
      const list = Array.isArray(values) ? values : [values];
      return new Set(list.map((v) => String(v).replace(/^uid=([^,]+),.*$/, '$1')));
    } finally {
      await client.unbind();
    }
  }

  /** Brings t (from whatever state it is in) into `state`, then syncs. */
  async function enter(a: TestApp, c: Case, state: State): Promise<void> {
    const current = await mapping(a, c.t);
    const unignore = async () => {
      if (current?.status === 'ignored') await a.ops.unignore(c.t, 'admin', { connection: c.connection });
    };
    // A mapped user stays linked by its stable id whatever its mail: an admin unlinks it by
    // ignoring and unignoring it (the user is then matched again).
    const unlinkMapped = async () => {
      if (current?.status === 'mapped') {
        await a.ops.ignore(c.t, 'admin', { connection: c.connection });
        await a.ops.unignore(c.t, 'admin', { connection: c.connection });
      }
    };
    switch (state) {
      case 'unmapped':
        await unignore();
        await unlinkMapped();
        await setInGroup(c, true);
        await setMail(c.p, `${c.p}@example.org`);
        await setMail(c.t, null);
        break;
      case 'conflict':
        await unignore();
        await unlinkMapped();
        await setInGroup(c, true);
        await setMail(c.t, `shared${c.n}@example.org`);
        await setMail(c.p, `shared${c.n}@example.org`);
        break;
      case 'ignored':
        await setInGroup(c, true);
        if (current?.status !== 'ignored') await a.ops.ignore(c.t, 'admin', { connection: c.connection });
        break;
      case 'mapped':
        await unignore();
        await setInGroup(c, true);
        await setMail(c.p, `${c.p}@example.org`);
        await setMail(c.t, `${c.t}@example.org`);
        break;
      case 'out-of-scope':
        await setInGroup(c, false);
        break;
      case 'orphaned':
        await enter(a, c, 'mapped');
        await a.store.db.execute(
          (await import('drizzle-orm')).sql.raw(
            `delete from local_users where id = (select local_user_id from mappings where login = '${c.t}')`,
          ),
        );
        return;
    }
    await sync(a, c);
  }

  async function expectIn(a: TestApp, c: Case, state: State): Promise<void> {
    const m = await mapping(a, c.t);
    expect(m, `mapping of ${c.t}`).toBeDefined();
    if (state === 'out-of-scope') {
      expect(m!.in_scope).toBe(false);
      return;
    }
    expect(m!.in_scope).toBe(true);
    if (state === 'orphaned') {
      // Its local user was deleted: the mapping points nowhere until the next sync creates one.
      expect(m!.local_user_id).toBeNull();
      return;
    }
    expect(m!.status).toBe(state);
    if (state === 'mapped') {
      const [local] = await rows<{ mail: string; active: boolean }>(a, `select mail, active from local_users where id = ${m!.local_user_id}`);
      expect(local).toEqual({ mail: `${c.t}@example.org`, active: true });
    } else {
      expect(m!.local_user_id).toBeNull();
    }
  }

  async function invariants(a: TestApp): Promise<void> {
    // No local user is the target of two mappings of one connection, and no mapped row points nowhere.
    const shared = await rows(a, `select local_user_id from mappings where status = 'mapped' and local_user_id is not null
                                  group by local_user_id having count(*) > 1`);
    expect(shared).toEqual([]);
    // Two local users never share the match key because of a sync.
    const twice = await rows(a, `select lower(mail) from local_users where mail is not null group by lower(mail) having count(*) > 1`);
    expect(twice).toEqual([]);
  }

  it.each(CASES.map(([from, to], k) => ({ from, to, k })))('$from → $to', async ({ from, to, k }) => {
    const c = caseOf(k);
    await ldap.load(entries(c));
    await sync(app, c);
    await enter(app, c, from);
    await expectIn(app, c, from);
    await enter(app, c, to);
    if (to === 'orphaned') {
      await expectIn(app, c, 'orphaned');
      // The next sync gives t a new local user again.
      await sync(app, c);
      await expectIn(app, c, 'mapped');
    } else {
      await expectIn(app, c, to);
    }
    await invariants(app);
    // The audit records the directory user's fields, not the planner's bookkeeping.
    const created = await rows<{ after: Record<string, unknown> }>(app, `select after from audit_log where action = 'user.created' and connection = '${c.connection}'`);
    for (const entry of created) expect(Object.keys(entry.after).sort()).toEqual(['directoryId', 'displayName', 'dn', 'enabled', 'login', 'mail']);
    // Nothing left to do: a further sync succeeds and writes nothing.
    const before = await storeFingerprint(app);
    await sync(app, c);
    expect(await storeFingerprint(app)).toBe(before);
  });
});
