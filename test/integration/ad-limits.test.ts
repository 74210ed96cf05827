/**
 * The sync engine against the fake AD server (test/support/fake-ad-server.ts), which answers like
 * Windows AD where Samba does not: MaxPageSize = 1000 (an unpaged search stops at 1,000 entries
 * with sizeLimitExceeded) and MaxValRange = 1500 (`member` comes back as `member;range=0-1499`).
 * Also a connection dropped mid-read, and objectGUIDs whose bytes happen to be valid UTF-8.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp } from '../support/app.ts';
import { type FakeAdDirectory, type FakeAdServer, guidToString, makeAdDirectory, startFakeAd } from '../support/fake-ad-server.ts';
import { rows, membersOf, storeFingerprint } from '../support/store.ts';

/** The store is not what is tested here; PostgreSQL (started once for the run) makes a fresh app in ~0.4 s. */
const DRIVER = 'postgres';
const BIND_DN = 'CN=svc-groupsync,CN=Users,DC=gs,DC=test';
const PASSWORD = 'Fake-AD-pw-1';
const USERS = 4500;
const BIG = 4000;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);


async function count(app: TestApp, text: string): Promise<number> {
  const [r] = await rows<{ n: number }>(app, `select count(*)::int as n from (${text}) x`);
  return r!.n;
}



function adConnection(ad: FakeAdServer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'corp',
    kind: 'ldap',
    url: ad.url,
    bindDn: BIND_DN,
    passwordEnv: 'AD_PASSWORD',
    baseDn: ad.baseDn,
    groups: { filter: '(cn=GS-*)' },
    timeoutSeconds: 10,
    ...overrides,
  };
}
const ENV = { env: { AD_PASSWORD: PASSWORD } };

describe('sync engine against AD limits (MaxPageSize 1000, MaxValRange 1500)', () => {
  let ad: FakeAdServer;
  let dir: FakeAdDirectory;
  const apps: TestApp[] = [];
  const newApp = async (overrides: Record<string, unknown> = {}) => {
    const app = await createTestApp(DRIVER, [adConnection(ad, overrides)], ENV);
    apps.push(app);
    return app;
  };
  const sync = (app: TestApp) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
  // Every user is reached by some group, so a complete read stores all of them.
  const groups = [
    { name: 'GS-Big', memberCount: BIG },
    { name: 'GS-Small', members: range(4000, 4100) },
    { name: 'GS-Nested', members: range(4100, USERS), groups: ['GS-Small'] },
    { name: 'GS-Pair', members: [0, USERS - 1] },
  ];

  beforeAll(async () => {
    dir = makeAdDirectory({ users: USERS, disabledEvery: 10, groups });
    ad = await startFakeAd({ entries: dir.entries, bindDn: BIND_DN, password: PASSWORD });
  });
  afterEach(async () => {
    ad.dropConnectionsAfter(null);
    ad.setEntries(dir.entries);
    ad.searchLog.length = 0;
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await ad?.stop();
  });

  it('a base DN that does not exist: the run error names the DN and noSuchObject, with the fix, on one line', async () => {
    const app = await newApp({ baseDn: `OU=Gone,${ad.baseDn}` });
    const result = await sync(app);
    expect(result.run.status).toBe('failed');
    expect(result.run.errorCode).toBe('DIRECTORY_NOT_FOUND');
    expect(result.run.error).toContain(`the search base "OU=Gone,${ad.baseDn}" does not exist (noSuchObject)`);
    expect(result.run.error).toContain('check baseDn');
    expect(result.run.error).not.toMatch(/[\n\r\t\0]/);
  });

  it('reads every user (paged) and all 4,000 members of a big group (ranged), and stores exactly that', async () => {
    const app = await newApp();
    const result = await sync(app);
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(result.run).toMatchObject({ groupsCreated: 4, usersCreated: USERS, membershipsAdded: BIG + 100 + 500 + 2 });
    expect((await app.ops.status('corp')).vendor).toBe('active-directory');

    // The store, exactly.
    expect(await count(app, 'select * from local_groups')).toBe(4);
    expect(await count(app, 'select * from local_users')).toBe(USERS);
    expect(await count(app, `select * from mappings where connection = 'corp' and status = 'mapped' and in_scope`)).toBe(USERS);
    expect(await count(app, 'select * from memberships')).toBe(BIG + 100 + 500 + 2);
    expect(await count(app, 'select * from local_users where not active')).toBe(USERS / 10); // disabledEvery: 10 → userAccountControl 514
    expect(await membersOf(app, 'GS-Big')).toEqual(range(0, BIG).map((i) => dir.userName(i)));
    expect(await membersOf(app, 'GS-Small')).toEqual(range(4000, 4100).map((i) => dir.userName(i)));
    expect(await membersOf(app, 'GS-Nested')).toEqual(range(4000, USERS).map((i) => dir.userName(i))); // through GS-Small
    expect(await membersOf(app, 'GS-Pair')).toEqual([dir.userName(0), dir.userName(USERS - 1)]);
    const [u1234] = await rows<{ active: boolean }>(app, `select active from local_users where login = '${dir.userName(1234)}'`);
    expect(u1234?.active).toBe(true);
    const [u1239] = await rows<{ active: boolean }>(app, `select active from local_users where login = '${dir.userName(1239)}'`);
    expect(u1239?.active).toBe(false);
    // Stable ids: every user's objectGUID in its usual text form.
    const ids = await rows<{ login: string; directory_id: string }>(app, `select login, directory_id from mappings`);
    const expected = new Map(range(0, USERS).map((i) => [dir.userName(i), guidToString(dir.userGuid(i))]));
    expect(new Map(ids.map((r) => [r.login, r.directory_id]))).toEqual(expected);

    // Ranged retrieval went to the end: 0-1499 with the group, then 1500-* (answered 1500-2999), then 3000-*.
    const bigDn = dir.groupDn('GS-Big').toLowerCase();
    const ranged = ad.searchLog.filter((s) => s.baseDn.toLowerCase() === bigDn && s.attributes.some((a) => /;range=/i.test(a)));
    expect(ranged.map((s) => s.attributes)).toEqual([['member;range=1500-*'], ['member;range=3000-*']]);
    for (const s of ranged) expect(s).toMatchObject({ resultCode: 0, entriesSent: 1 });
    // Nothing was cut by MaxPageSize: every search succeeded, every subtree search was paged, and
    // the paged user scan went through all its pages.
    // (The DC's invocationId, read for DirSync's cookie, is absent from this fake DC: that one lookup may fail.)
    expect(ad.searchLog.filter((s) => s.resultCode !== 0 && !s.attributes.includes('invocationId'))).toEqual([]);
    // (DirSync's cookie search matches nothing and is not paged: DirSync does not page.)
    const subtree = ad.searchLog.filter((s) => s.scope === 'sub' && s.filter !== '(&(objectClass=*)(!(objectClass=*)))');
    expect(subtree.length).toBeGreaterThan(0);
    for (const s of subtree) expect(s.pageSize).not.toBeNull();
    const userScan = subtree.filter((s) => /objectcategory=person/i.test(s.filter));
    expect(userScan.reduce((n, s) => n + s.entriesSent, 0)).toBe(USERS);
    expect(userScan.length).toBeGreaterThan(USERS / 1000);
    expect(userScan.filter((s) => s.continued).length).toBe(userScan.length - 1);
    expect(Math.max(...ad.searchLog.map((s) => s.entriesSent))).toBeLessThanOrEqual(1000);
  });

  it('reads completely when the configured page size is above MaxPageSize', async () => {
    const app = await newApp({ pageSize: 5000 });
    const result = await sync(app);
    expect(result.run.error ?? result.run.status).toBe('success');
    expect(await count(app, 'select * from local_users')).toBe(USERS);
    expect((await membersOf(app, 'GS-Big')).length).toBe(BIG);
    const userScan = ad.searchLog.filter((s) => s.scope === 'sub' && /objectcategory=person/i.test(s.filter));
    expect(userScan.map((s) => s.entriesSent)).toEqual([1000, 1000, 1000, 1000, 500]); // the server's pages, not the client's
    for (const s of userScan) expect(s.pageSize).toBe(5000);
  });

  it('a connection dropped mid-read fails the run and leaves the store untouched', async () => {
    const app = await newApp();
    expect((await sync(app)).run.status).toBe('success');
    // The directory changes: users 4000-4099 leave GS-Small (and so GS-Nested), GS-Pair is gone.
    const changed = makeAdDirectory({
      users: USERS,
      disabledEvery: 10,
      groups: [groups[0]!, { name: 'GS-Small', members: [] }, groups[2]!],
    });
    for (const drop of [1, 2500]) {
      // 1: the root DSE only; 2500: in the middle of the paged user scan.
      ad.setEntries(changed.entries);
      const before = await storeFingerprint(app);
      const runsBefore = await count(app, 'select * from runs');
      ad.dropConnectionsAfter(drop);
      const failed = await sync(app);
      ad.dropConnectionsAfter(null);
      expect(failed.run.status).toBe('failed');
      expect(failed.run.errorCode).toMatch(/^DIRECTORY_(UNREACHABLE|READ_FAILED)$/);
      expect(failed.plan).toBeNull();
      expect(await storeFingerprint(app)).toBe(before);
      expect(await count(app, 'select * from runs')).toBe(runsBefore + 1);
      expect(app.notifier.events.at(-1)?.type).toBe('run.failed');
    }
    expect(ad.stats.droppedConnections).toBeGreaterThanOrEqual(2);
    // The same change, read completely, is applied: the failed runs really did hold something back.
    const ok = await sync(app);
    expect(ok.run).toMatchObject({ status: 'success', groupsDeleted: 1, usersDeactivated: 90 }); // 10 of the 100 were disabled already
    expect(await membersOf(app, 'GS-Small')).toEqual([]);
  });
});

describe('objectGUIDs that happen to be valid UTF-8', () => {
  let ad: FakeAdServer;
  let dir: FakeAdDirectory;
  let app: TestApp | undefined;
  // makeAdDirectory's UTF-8 GUIDs are printable ASCII; this one is multi-byte UTF-8 (é, €): read as
  // a string, it only comes back to the right 16 bytes when re-encoded as UTF-8.
  const accentGuid = Buffer.from('é€€€€ab', 'utf8');
  const ACCENT = 'gs-accent';
  const FEW = [1, 3, 4, 5];

  beforeAll(async () => {
    dir = makeAdDirectory({
      users: 400,
      utf8GuidEvery: 2,
      groups: [
        // Above the scan threshold: members resolved by the paged user scan.
        { name: 'GS-Utf8', memberCount: 400 },
        { name: 'GS-Utf8-LC', memberCount: 400 },
        // Below it: members read entry by entry.
        { name: 'GS-Few', members: FEW },
        { name: 'GS-Few-LC', members: FEW },
      ],
    });
    const accentDn = `CN=GS Accent,${dir.usersDn}`;
    const entries = dir.entries.map((e) =>
      /^CN=GS-/.test(e.dn) ? { ...e, attributes: { ...e.attributes, member: [...(e.attributes.member as string[]), accentDn] } } : e,
    );
    entries.push({
      dn: accentDn,
      attributes: {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        objectCategory: `CN=Person,CN=Schema,CN=Configuration,${dir.baseDn}`,
        cn: 'GS Accent',
        sAMAccountName: ACCENT,
        mail: `${ACCENT}@gs.test`,
        userAccountControl: '512',
        objectGUID: accentGuid,
      },
    });
    ad = await startFakeAd({ entries, bindDn: BIND_DN, password: PASSWORD });
  });
  afterAll(async () => {
    await app?.close();
    await ad?.stop();
  });

  it('still decode to the right id, on the paged scan and on single-entry reads, however the id attribute is spelled', async () => {
    // The premise: these GUIDs survive a UTF-8 round trip (a client without explicitBufferAttributes gets a string).
    const roundTrips = (g: Buffer) => Buffer.from(g.toString('utf8'), 'utf8').equals(g);
    const utf8 = range(0, 400).filter((i) => roundTrips(dir.userGuid(i)));
    expect(utf8.length).toBeGreaterThanOrEqual(200);
    expect(utf8).toEqual(expect.arrayContaining(FEW.filter((i) => i % 2 === 1)));
    expect(accentGuid.length).toBe(16);
    expect(roundTrips(accentGuid)).toBe(true);
    expect(accentGuid.toString('utf8')).toHaveLength(7); // multi-byte: not one character per byte

    // One connection per case, each with its own groups (users are shared by mail, mappings are per connection).
    // `-lc`: an admin who writes the id attribute in lower case; AD still answers `objectGUID`.
    const cases = [
      { name: 'scan', group: 'GS-Utf8', users: range(0, 400), attributes: {} },
      { name: 'single', group: 'GS-Few', users: FEW, attributes: {} },
      { name: 'scan-lc', group: 'GS-Utf8-LC', users: range(0, 400), attributes: { id: 'objectguid' } },
      { name: 'single-lc', group: 'GS-Few-LC', users: FEW, attributes: { id: 'objectguid' } },
    ];
    app = await createTestApp(
      DRIVER,
      cases.map((c) => adConnection(ad, { name: c.name, groups: { filter: `(cn=${c.group})` }, attributes: c.attributes })),
      ENV,
    );
    for (const c of cases) {
      const result = await app.engine.sync({ connection: c.name, trigger: 'manual', actor: 'test' });
      expect(result.run.error ?? result.run.status, c.name).toBe('success');
      const ids = await rows<{ login: string; directory_id: string }>(
        app,
        `select login, directory_id from mappings where connection = '${c.name}' and status = 'mapped' order by login`,
      );
      const expected = [
        ...c.users.map((i) => ({ login: dir.userName(i), directory_id: guidToString(dir.userGuid(i)) })),
        { login: ACCENT, directory_id: guidToString(accentGuid) },
      ].sort((a, b) => (a.login < b.login ? -1 : 1));
      expect(ids, c.name).toEqual(expected);
      expect((await membersOf(app, c.group)).length, c.name).toBe(c.users.length + 1);
    }
  });
});
