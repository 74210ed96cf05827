/**
 * Incremental LDAP reads by modifyTimestamp and a present phase, against a real slapd WITHOUT
 * the syncprov overlay (no RFC 4533, no DirSync): after every change the incremental snapshot
 * must equal a full read of the server, and a reconciliation after a series of incremental syncs
 * must change nothing.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryState, ReadScope } from '../../src/domain/types.ts';
import { Client } from 'ldapts';
import { LdapSource, type LdapSourceOptions } from '../../src/directory/ldap/client.ts';
import type { EntryAccess } from '../../src/directory/ldap/read.ts';
import { createTimestampTracker } from '../../src/directory/ldap/timestamp.ts';
import { toRawEntry } from '../../src/directory/ldap/transform.ts';
import { VENDOR_PROFILES } from '../../src/directory/ldap/vendors.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { storeFingerprint } from '../support/store.ts';
import { canonicalSnapshot, sourceOptions } from '../support/ldap-source.ts';
import { FIXTURE_LDIF, SERVICE_ACCOUNT, type SlapdHandle, startSlapd } from '../support/slapd.ts';

const P = 'ou=people,dc=example,dc=org';
const G = 'ou=groups,dc=example,dc=org';
const S = 'ou=services,dc=example,dc=org';



const person = (uid: string, base = P) => `dn: uid=${uid},${base}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.org\n`;

describe('incremental reads by modifyTimestamp from slapd without content synchronisation', () => {
  let ldap: SlapdHandle;
  let state: DirectoryState | null = null;
  // Tracked base: ou=people, with the groups of the test under it, so a user can move out of it.
  const SCOPE: ReadScope = { groupFilter: '(cn=ts-*)', groupRefs: [] };
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    await ldap.load(`dn: cn=ts-team,${P}\nobjectClass: groupOfNames\ncn: ts-team\nmember: uid=alice,${P}\nmember: uid=bob,${P}\n`);
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  const source = (extra: Partial<LdapSourceOptions> = {}) => new LdapSource(sourceOptions(ldap, { baseDn: P, now: () => new Date('2030-01-01T00:00:00Z'), ...extra }));
  const readBoth = async () => {
    const snapshot = await source().read(SCOPE, undefined, state);
    state = snapshot.nextState ?? null;
    const full = await source({ incremental: false }).read(SCOPE);
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    return snapshot;
  };

  it('reads in full first, keeping a mark, then nothing new when nothing changed', async () => {
    const first = await readBoth();
    expect(first.stats).toMatchObject({ readMode: 'full', readReason: 'noState', trackedBy: 'timestamp' });
    expect(first.nextState?.cursor).toMatchObject({ mechanism: 'timestamp', readMode: 'full' });
    const same = await readBoth();
    expect(same.stats).toMatchObject({ readMode: 'incremental', trackedBy: 'timestamp', changedEntries: 0, deletedEntries: 0 });
    // The entries changed within the same second as the mark come back, but are known unchanged.
    const again = await readBoth();
    expect(again.stats).toMatchObject({ readMode: 'incremental', changedEntries: 0, deletedEntries: 0 });
  });

  it('follows an added user, a modified mail, a deleted user, a renamed group and a user moved out of the base', async () => {
    await ldap.load(person('ts-ann') + '\n' + person('ts-ben'));
    await ldap.load(`dn: cn=ts-team,${P}\nchangetype: modify\nadd: member\nmember: uid=ts-ann,${P}\nmember: uid=ts-ben,${P}\n`);
    let snapshot = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 3 });
    expect(snapshot.users.some((u) => u.login === 'ts-ann')).toBe(true);

    // Changed in the same second as the last read: the mark is taken with >=, and the content decides.
    await ldap.load(`dn: uid=ts-ann,${P}\nchangetype: modify\nreplace: mail\nmail: ann.new@example.org\n`);
    snapshot = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 1, deletedEntries: 0 });
    expect(snapshot.users.find((u) => u.login === 'ts-ann')?.mail).toBe('ann.new@example.org');

    await ldap.load(`dn: uid=ts-ben,${P}\nchangetype: delete\n`);
    snapshot = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 0, deletedEntries: 1 });
    expect(snapshot.users.some((u) => u.login === 'ts-ben')).toBe(false);

    await ldap.load(`dn: cn=ts-team,${P}\nchangetype: modrdn\nnewrdn: cn=ts-crew\ndeleteoldrdn: 1\n`);
    snapshot = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 1, deletedEntries: 0 });
    expect(snapshot.groups.map((g) => g.name)).toContain('ts-crew');

    await ldap.load(`dn: uid=ts-ann,${P}\nchangetype: modrdn\nnewrdn: uid=ts-ann\ndeleteoldrdn: 1\nnewsuperior: ${S}\n`);
    snapshot = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 0, deletedEntries: 1 });
    expect(snapshot.users.some((u) => u.login === 'ts-ann')).toBe(false);
  });

  it('finds the incrementally kept entries equal to a full read', async () => {
    const snapshot = await source().read(SCOPE, undefined, state, { full: true });
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'requested', trackedBy: 'timestamp', reconcileDiffs: 0 });
    state = snapshot.nextState ?? null;
    expect((await readBoth()).stats).toMatchObject({ readMode: 'incremental', changedEntries: 0 });
  });

  it('keeps the window as one digest past its cap: unchanged, nothing; one entry changed, all of them again', async () => {
    const client = new Client({ url: ldap.url });
    await client.bind(ldap.adminDn, ldap.adminPassword);
    try {
      const access: EntryAccess = {
        async *search(base, filter, attributes) {
          for await (const page of client.searchPaginated(base, { scope: 'sub', filter, attributes: [...attributes], paged: { pageSize: 50 } })) yield page.searchEntries.map(toRawEntry);
        },
        readEntry: async () => null,
      };
      const tracker = createTimestampTracker({ access, profile: VENDOR_PROFILES.openldap, windowCap: 1 });
      const tracked = { base: P, filter: '(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))', attributes: ['uid', 'mail', 'cn', 'member', 'entryUUID'] };
      await ldap.load(person('ts-cap-1') + '\n' + person('ts-cap-2'));
      const cookie = await tracker.begin!(tracked);
      const same = await tracker.read({ ...tracked, cookie });
      expect(same).toMatchObject({ kind: 'delta', entries: [], deletedIds: [], presentIds: null });
      await ldap.load(`dn: uid=ts-cap-1,${P}\nchangetype: modify\nreplace: mail\nmail: cap@example.org\n`);
      const changed = await tracker.read({ ...tracked, cookie: same.cookie });
      expect(changed.entries.map((e) => e.dn)).toEqual(expect.arrayContaining([`uid=ts-cap-1,${P}`, `uid=ts-cap-2,${P}`]));
      expect(changed.entries.find((e) => e.dn.startsWith('uid=ts-cap-1'))?.attrs.get('mail')).toEqual(['cap@example.org']);
      expect(changed.entries[0]!.attrs.has('modifytimestamp')).toBe(false);
      expect(await tracker.read({ ...tracked, cookie: changed.cookie })).toMatchObject({ entries: [], presentIds: null });
    } finally {
      await client.unbind();
    }
  });

  it('once the window below the mark has passed on its clock, asks only for the mark\'s second', async () => {
    const client = new Client({ url: ldap.url });
    await client.bind(ldap.adminDn, ldap.adminPassword);
    try {
      let fetched: string[] = [];
      const access: EntryAccess = {
        async *search(base, filter, attributes) {
          for await (const page of client.searchPaginated(base, { scope: 'sub', filter, attributes: [...attributes], paged: { pageSize: 50 } })) {
            const entries = page.searchEntries.map(toRawEntry);
            if (String(filter).includes('modifyTimestamp>=')) fetched.push(...entries.map((e) => e.dn));
            yield entries;
          }
        },
        readEntry: async () => null,
      };
      const tracked = { base: P, filter: '(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))', attributes: ['uid', 'mail', 'cn', 'member', 'entryUUID'] };
      await ldap.load(person('ts-close-1'));
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await ldap.load(person('ts-close-2'));
      const readOnce = async (now: number) => {
        const tracker = createTimestampTracker({ access, profile: VENDOR_PROFILES.openldap, now: () => now });
        const cookie = await tracker.begin!(tracked);
        fetched = [];
        expect(await tracker.read({ ...tracked, cookie })).toMatchObject({ entries: [], presentIds: null });
        return fetched;
      };
      // Just after the change: the window stays open (a late write may still be stamped in it).
      expect(await readOnce(Date.now())).toEqual(expect.arrayContaining([`uid=ts-close-1,${P}`, `uid=ts-close-2,${P}`]));
      // Ten minutes later on this clock: no write can be stamped below the mark any more.
      expect(await readOnce(Date.now() + 600_000)).toEqual([`uid=ts-close-2,${P}`]);
    } finally {
      await client.unbind();
    }
  });

  it('reads in full when the cookie is not one of its own, saying why', async () => {
    const snapshot = await source().read(SCOPE, undefined, { cursor: { ...state!.cursor, cookie: 'rid=000,csn=1' }, cache: state!.cache });
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'cookieRejected:malformedCookie' });
  });
});

describe('a server that does not let the bind account read modifyTimestamp', () => {
  let ldap: SlapdHandle;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    // The service account may read everything but modifyTimestamp.
    const ldif = [
      'dn: olcDatabase={1}mdb,cn=config',
      'changetype: modify',
      'add: olcAccess',
      `olcAccess: {0}to attrs=modifyTimestamp by dn.exact="${SERVICE_ACCOUNT.dn}" none by * break`,
      '',
    ].join('\n');
    execFileSync('ldapmodify', ['-Q', '-Y', 'EXTERNAL', '-H', ldap.ldapiUrl], { input: ldif });
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it('is read in full, saying why, keeping nothing of the tracker (the digest of the graph read alone)', async () => {
    const source = new LdapSource(sourceOptions(ldap, { bindDn: SERVICE_ACCOUNT.dn, password: SERVICE_ACCOUNT.password }));
    const snapshot = await source.read({ groupFilter: '(cn=*)', groupRefs: [] }, undefined, null);
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'noModifyTimestamp' });
    expect(snapshot.nextState).toMatchObject({ cache: null, cursor: { mode: 'plain', mechanism: 'none', cookie: '' } });
    expect(snapshot.groups.length).toBeGreaterThan(5);
  });
});

describe('an entry entering the scope with an old modifyTimestamp (an ACL that hid it removed)', () => {
  let ldap: SlapdHandle;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    // A change a second after the load: the mark is then above bob's stamp (the window is 0 below).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await ldap.load(`dn: uid=alice,${P}\nchangetype: modify\nreplace: description\ndescription: later\n`);
  });
  afterAll(async () => {
    await ldap?.stop();
  });
  const acl = (change: 'add' | 'delete') =>
    execFileSync('ldapmodify', ['-Q', '-Y', 'EXTERNAL', '-H', ldap.ldapiUrl], {
      input: ['dn: olcDatabase={1}mdb,cn=config', 'changetype: modify', `${change}: olcAccess`, change === 'add' ? `olcAccess: {0}to dn.exact="uid=bob,${P}" by dn.exact="${SERVICE_ACCOUNT.dn}" none by * break` : 'olcAccess: {0}', ''].join('\n'),
    });

  it.each(['entries', 'detect'] as const)('in %s mode is seen by the next read', async (mode) => {
    const scope: ReadScope = { groupFilter: '(cn=*)', groupRefs: [] };
    const source = (extra: Partial<LdapSourceOptions> = {}) => new LdapSource(sourceOptions(ldap, { bindDn: SERVICE_ACCOUNT.dn, password: SERVICE_ACCOUNT.password, incremental: mode, timestampWindowSeconds: 0, ...extra }));
    acl('add');
    const first = await source().read(scope, undefined, null);
    expect(first.users.some((u) => u.login === 'bob')).toBe(false);
    acl('delete');
    const next = await source().read(scope, undefined, first.nextState!);
    expect(next.stats).toMatchObject({ readMode: 'full', readReason: mode === 'entries' ? 'presentNotKept' : 'changed' });
    expect(next.users.some((u) => u.login === 'bob')).toBe(true);
    expect(canonicalSnapshot(next)).toEqual(canonicalSnapshot(await source({ incremental: false }).read(scope)));
  });
});

describe('incremental syncs by modifyTimestamp through the engine', () => {
  let ldap: SlapdHandle;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it.each(['detect', 'entries'] as const)('in %s mode: nothing read when nothing changed, every change applied, a full read then changing nothing', async (mode) => {
    const app: TestApp = await createTestApp('postgres', [ldapConnection(ldap, { incremental: mode })]);
    try {
      const sync = (extra: { full?: boolean } = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
      const first = await sync();
      expect(first.run.stats).toMatchObject({ readMode: 'full', readReason: 'noState', trackedBy: 'timestamp' });
      const same = await sync();
      expect(same.run.stats).toMatchObject({ readMode: 'incremental', trackedBy: 'timestamp', unchangedSince: first.run.id });

      const u = `${mode}-zed`;
      await ldap.load(`${person(u)}\ndn: cn=developers,${G}\nchangetype: modify\nadd: member\nmember: uid=${u},${P}\n`);
      const added = await sync();
      expect(added.counts).toMatchObject({ usersCreated: 1, membershipsAdded: 1 });
      expect(added.run.stats).toMatchObject(mode === 'detect' ? { readMode: 'full', readReason: 'changed' } : { readMode: 'incremental' });

      await ldap.load(`dn: uid=${u},${P}\nchangetype: modify\nreplace: mail\nmail: ${u}.new@example.org\n`);
      expect((await sync()).counts).toMatchObject({ usersUpdated: 1 });

      await ldap.load(`dn: cn=developers,${G}\nchangetype: modrdn\nnewrdn: cn=developers-${mode}\ndeleteoldrdn: 1\n`);
      await ldap.load(`dn: uid=${u},${P}\nchangetype: modrdn\nnewrdn: uid=${u}\ndeleteoldrdn: 1\nnewsuperior: ${S}\n`);
      const moved = await sync();
      expect(moved.counts?.membershipsRemoved).toBeGreaterThan(0);

      await ldap.load(`dn: uid=${u},${S}\nchangetype: delete\n`);
      await ldap.load(`dn: cn=developers-${mode},${G}\nchangetype: modrdn\nnewrdn: cn=developers\ndeleteoldrdn: 1\n`);
      await sync();
      const before = await storeFingerprint(app);
      const full = await sync({ full: true });
      expect(full.run.stats).toMatchObject({ readMode: 'full', readReason: 'requested', ...(mode === 'entries' ? { reconcileDiffs: 0 } : {}) });
      expect(full.counts).toMatchObject({ usersCreated: 0, usersUpdated: 0, usersDeactivated: 0, membershipsAdded: 0, membershipsRemoved: 0, groupsCreated: 0, groupsModified: 0, groupsDeleted: 0 });
      expect(await storeFingerprint(app)).toBe(before);
      expect((await sync()).run.stats).toMatchObject({ readMode: 'incremental' });
    } finally {
      await app.close();
    }
  });
});
