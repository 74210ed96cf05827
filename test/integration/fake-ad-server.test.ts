// The fake AD server against the real client (ldapts): AD's MaxPageSize and MaxValRange limits,
// its root DSE, binds, filters, and a connection that dies mid-read.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BerWriter,
  Client,
  Control,
  EqualityFilter,
  InvalidCredentialsError,
  NoSuchObjectError,
  OperationsError,
  SizeLimitExceededError,
  UnwillingToPerformError,
} from 'ldapts';
import { guidToString, makeAdDirectory, startFakeAd, type FakeAdDirectory, type FakeAdServer } from '../support/fake-ad-server.ts';

const BIND_DN = 'CN=svc-groupsync,CN=Users,DC=gs,DC=test';
const PASSWORD = 'Fake-AD-pw-1';
const USERS = 2500;

/** A control with a hand-made value (ldapts refuses its own PagedResultsControl in `controls`). */
class RawControl extends Control {
  readonly raw: Buffer;
  constructor(oid: string, raw: Buffer) {
    super(oid);
    this.raw = raw;
  }
  protected override writeControl(writer: BerWriter): void {
    writer.writeBuffer(this.raw, 0x04);
  }
}

function pagedValue(size: number, cookie: Buffer): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(size);
  w.writeBuffer(cookie, 0x04);
  w.endSequence();
  return w.buffer;
}

describe('fake AD server', () => {
  let ad: FakeAdServer;
  let dir: FakeAdDirectory;
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const c = new Client({ url: ad.url, timeout: 30_000 });
    clients.push(c);
    await c.bind(BIND_DN, PASSWORD);
    return c;
  }

  beforeAll(async () => {
    dir = makeAdDirectory({
      users: USERS,
      disabledEvery: 10,
      groups: [
        { name: 'Big', memberCount: USERS },
        { name: 'Small', members: [0, 1, 2] },
        { name: 'Parent', members: [3], groups: ['Small'] },
        { name: 'Exactly1500', memberCount: 1500 },
        { name: 'Empty' },
      ],
    });
    ad = await startFakeAd({ entries: dir.entries, bindDn: BIND_DN, password: PASSWORD, bindAliases: ['svc-groupsync@gs.test'] });
  });

  afterEach(async () => {
    ad.dropConnectionsAfter(null);
    ad.setEntries(dir.entries);
    ad.searchLog.length = 0;
    await Promise.all(clients.splice(0).map((c) => c.unbind().catch(() => {})));
  });

  afterAll(async () => {
    await ad?.stop();
  });

  it('has an AD root DSE, readable without a bind', async () => {
    const c = new Client({ url: ad.url });
    clients.push(c);
    const { searchEntries } = await c.search('', { scope: 'base', filter: '(objectClass=*)' });
    const dse = searchEntries[0]!;
    expect(dse.dn).toBe('');
    expect(dse.defaultNamingContext).toBe('DC=gs,DC=test');
    expect(dse.supportedCapabilities).toContain('1.2.840.113556.1.4.800');
    expect(dse.supportedControl).toContain('1.2.840.113556.1.4.319');
    expect(dse.supportedLDAPPolicies).toContain('MaxPageSize');
    expect(dse.forestFunctionality).toBe('7');
    expect(dse.domainFunctionality).toBe('7');
    expect(dse.domainControllerFunctionality).toBe('7');
    expect(dse.dnsHostName).toBe('dc1.gs.test');
    expect(dse.vendorName).toBeUndefined();
    expect(dse.objectClass).toBeUndefined();

    // Asking for named attributes returns just those (and ldapts fills absent ones with []).
    const some = await c.search('', { scope: 'base', attributes: ['supportedCapabilities', 'vendorName', 'objectClass'] });
    expect(Object.keys(some.searchEntries[0]!).sort()).toEqual(['dn', 'objectClass', 'supportedCapabilities', 'vendorName']);
    expect(some.searchEntries[0]!.vendorName).toEqual([]);
  });

  it('accepts only the configured account; wrong passwords get InvalidCredentialsError (49)', async () => {
    await connect();
    const alias = new Client({ url: ad.url });
    clients.push(alias);
    await alias.bind('svc-groupsync@GS.TEST', PASSWORD);
    const spaced = new Client({ url: ad.url });
    clients.push(spaced);
    await spaced.bind('cn=SVC-groupsync, cn=users, dc=gs, dc=test', PASSWORD);

    for (const [dn, pw] of [
      [BIND_DN, 'wrong'],
      ['CN=nobody,DC=gs,DC=test', PASSWORD],
    ] as const) {
      const c = new Client({ url: ad.url });
      clients.push(c);
      const err = await c.bind(dn, pw).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidCredentialsError);
      expect((err as InvalidCredentialsError).code).toBe(49);
      expect((err as Error).message).toContain('AcceptSecurityContext error, data 52e');
    }
  });

  it('refuses searches on an anonymous connection with operationsError, as AD does', async () => {
    const c = new Client({ url: ad.url });
    clients.push(c);
    await expect(c.search(dir.baseDn, { filter: '(objectClass=user)' })).rejects.toBeInstanceOf(OperationsError);
    await c.bind('', ''); // anonymous bind succeeds, still no searching
    await expect(c.search(dir.baseDn, { filter: '(objectClass=user)' })).rejects.toBeInstanceOf(OperationsError);
  });

  it('cuts an unpaged search at MaxPageSize: 1,000 entries then sizeLimitExceeded, which ldapts throws', async () => {
    const c = await connect();
    const err = await c.search(dir.usersDn, { filter: '(objectClass=user)', attributes: ['sAMAccountName'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitExceededError);
    expect((err as SizeLimitExceededError).code).toBe(4);
    expect(ad.searchLog.at(-1)).toMatchObject({ entriesSent: 1000, resultCode: 4, pageSize: null });

    // With a client sizeLimit, ldapts keeps the entries and does not throw on code 4: the result
    // silently holds the first 1,000 only.
    const limited = await c.search(dir.usersDn, { filter: '(objectClass=user)', attributes: ['sAMAccountName'], sizeLimit: 5000 });
    expect(limited.searchEntries).toHaveLength(1000);
    // A client limit below MaxPageSize applies too.
    const small = await c.search(dir.usersDn, { filter: '(objectClass=user)', attributes: ['sAMAccountName'], sizeLimit: 10 });
    expect(small.searchEntries).toHaveLength(10);
    // Under the limit: no error.
    const few = await c.search(dir.usersDn, { filter: '(sAMAccountName=user0000*)', attributes: ['sAMAccountName'] });
    expect(few.searchEntries).toHaveLength(10);
  });

  it('pages a search in pages of min(requested, MaxPageSize) until it has all 2,500 users', async () => {
    const c = await connect();
    const res = await c.search(dir.usersDn, { filter: '(objectClass=user)', attributes: ['sAMAccountName'], paged: { pageSize: 500 } });
    expect(res.searchEntries).toHaveLength(USERS);
    expect(new Set(res.searchEntries.map((e) => e.sAMAccountName)).size).toBe(USERS);
    expect(ad.searchLog.map((s) => s.entriesSent)).toEqual([500, 500, 500, 500, 500]);
    expect(ad.searchLog.map((s) => s.continued)).toEqual([false, true, true, true, true]);

    ad.searchLog.length = 0;
    const big = await c.search(dir.usersDn, { filter: '(objectClass=user)', attributes: ['sAMAccountName'], paged: { pageSize: 5000 } });
    expect(big.searchEntries).toHaveLength(USERS);
    expect(ad.searchLog.map((s) => s.entriesSent)).toEqual([1000, 1000, 500]);

    // searchPaginated yields the same pages
    const sizes: number[] = [];
    for await (const page of c.searchPaginated(dir.usersDn, { filter: '(objectClass=user)', attributes: ['cn'], paged: { pageSize: 1000 } })) {
      sizes.push(page.searchEntries.length);
    }
    expect(sizes).toEqual([1000, 1000, 500]);
  });

  it('refuses a paging cookie it did not issue on that connection with unwillingToPerform (53)', async () => {
    const c = await connect();
    const bogus = new RawControl('1.2.840.113556.1.4.319', pagedValue(100, Buffer.from('not-a-cookie')));
    await expect(c.search(dir.usersDn, { filter: '(objectClass=user)' }, [bogus])).rejects.toBeInstanceOf(UnwillingToPerformError);
  });

  it('cuts a 4,000-member group at MaxValRange and serves the rest by range', async () => {
    const big = makeAdDirectory({ users: 4000, groups: [{ name: 'Huge', memberCount: 4000 }] });
    const members = Array.from({ length: 4000 }, (_, i) => big.userDn(i));
    const server = await startFakeAd({ entries: big.entries, bindDn: BIND_DN, password: PASSWORD });
    const c = new Client({ url: server.url });
    try {
      await c.bind(BIND_DN, PASSWORD);
      const read = async (attribute: string) =>
        (await c.search(big.groupDn('Huge'), { scope: 'base', filter: '(objectClass=*)', attributes: [attribute] })).searchEntries[0]!;

      const first = await read('member');
      // ldapts adds the requested-but-absent `member` as []: the values are under the ranged key.
      expect(Object.keys(first).sort()).toEqual(['dn', 'member', 'member;range=0-1499']);
      expect(first.member).toEqual([]);
      expect(first['member;range=0-1499']).toEqual(members.slice(0, 1500));

      const second = await read('member;range=1500-*');
      // ...and likewise the requested `member;range=1500-*` key, empty, beside the real one.
      expect(Object.keys(second).sort()).toEqual(['dn', 'member;range=1500-*', 'member;range=1500-2999']);
      expect(second['member;range=1500-*']).toEqual([]);
      expect(second['member;range=1500-2999']).toEqual(members.slice(1500, 3000));

      const third = await read('member;range=3000-*');
      expect(Object.keys(third).sort()).toEqual(['dn', 'member;range=3000-*']);
      expect(third['member;range=3000-*']).toEqual(members.slice(3000));

      // Explicit windows are honoured, capped at 1,500 values, and end in * when they reach the end.
      expect((await read('member;range=100-199'))['member;range=100-199']).toHaveLength(100);
      expect((await read('member;range=0-*'))['member;range=0-1499']).toHaveLength(1500);
      expect((await read('member;range=0-3999'))['member;range=0-1499']).toHaveLength(1500);
      expect((await read('member;range=3990-5000'))['member;range=3990-*']).toHaveLength(10);

      // With `*` (or no attribute list) the cut applies as well.
      const all = (await c.search(big.groupDn('Huge'), { scope: 'base' })).searchEntries[0]!;
      expect(all['member;range=0-1499']).toHaveLength(1500);
      expect(all.member).toBeUndefined();
      expect(all.cn).toBe('Huge');

      // Past the end of a link attribute: operationsError, unless the NOERR control is sent.
      await expect(read('member;range=4000-*')).rejects.toBeInstanceOf(OperationsError);
      const quiet = await c.search(big.groupDn('Huge'), { scope: 'base', attributes: ['member;range=4000-*'] }, [new Control('1.2.840.113556.1.4.1948')]);
      expect(quiet.searchEntries[0]).toEqual({ dn: big.groupDn('Huge'), 'member;range=4000-*': [] }); // ldapts fills the requested name with []
    } finally {
      await c.unbind().catch(() => {});
      await server.stop();
    }
  });

  it('returns up to MaxValRange values plainly, and no member attribute for an empty group', async () => {
    const c = await connect();
    const exact = (await c.search(dir.groupDn('Exactly1500'), { scope: 'base', attributes: ['member'] })).searchEntries[0]!;
    expect(Object.keys(exact).sort()).toEqual(['dn', 'member']);
    expect(exact.member).toHaveLength(1500);
    const ranged = (await c.search(dir.groupDn('Exactly1500'), { scope: 'base', attributes: ['member;range=0-*'] })).searchEntries[0]!;
    expect(ranged['member;range=0-*']).toHaveLength(1500);

    const empty = (await c.search(dir.groupDn('Empty'), { scope: 'base', attributes: ['*'] })).searchEntries[0]!;
    expect(empty.member).toBeUndefined();
    expect(empty.cn).toBe('Empty');
  });

  it('sends objectGUID as 16 raw bytes and other AD attributes', async () => {
    const c = await connect();
    const { searchEntries } = await c.search(dir.usersDn, {
      filter: '(sAMAccountName=user00009)',
      attributes: ['objectGUID', 'userAccountControl', 'sAMAccountName', 'mail', 'displayName', 'cn', 'objectClass', 'distinguishedName', 'memberOf'],
      explicitBufferAttributes: ['objectGUID'],
    });
    const u = searchEntries[0]!;
    expect(Buffer.isBuffer(u.objectGUID)).toBe(true);
    expect(u.objectGUID).toEqual(dir.userGuid(9));
    expect(guidToString(u.objectGUID as Buffer)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(u).toMatchObject({
      dn: dir.userDn(9),
      userAccountControl: '514', // disabledEvery: 10 → index 9 is disabled
      sAMAccountName: 'user00009',
      mail: 'user00009@gs.test',
      displayName: 'User 00009',
      cn: 'User 00009',
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      distinguishedName: dir.userDn(9),
    });
    expect(u.memberOf).toEqual([dir.groupDn('Big'), dir.groupDn('Exactly1500')]);

    // Binary equality filter on objectGUID (EqualityFilter with a Buffer value).
    const byGuid = await c.search(dir.baseDn, {
      filter: new EqualityFilter({ attribute: 'objectGUID', value: dir.userGuid(42) }),
      attributes: ['sAMAccountName'],
    });
    expect(byGuid.searchEntries.map((e) => e.sAMAccountName)).toEqual(['user00042']);
  });

  it('evaluates the filters a sync client sends', async () => {
    const c = await connect();
    const count = async (filter: string, base = dir.baseDn) =>
      (await c.search(base, { filter, attributes: ['1.1'], paged: { pageSize: 1000 } })).searchEntries.length;

    expect(await count('(&(objectCategory=person)(objectClass=user))')).toBe(USERS);
    expect(await count('(&(objectCategory=Person)(objectClass=USER)(userAccountControl:1.2.840.113556.1.4.803:=2))')).toBe(USERS / 10);
    expect(await count('(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))')).toBe(USERS - USERS / 10);
    expect(await count('(objectClass=group)')).toBe(5);
    expect(await count('(objectCategory=group)')).toBe(5);
    expect(await count('(|(sAMAccountName=user00001)(sAMAccountName=USER00002)(cn=Small))')).toBe(3);
    expect(await count('(sAMAccountName=user0001*)')).toBe(10);
    expect(await count('(displayName=*ser 0000*)')).toBe(10);
    expect(await count('(mail=*@gs.test)')).toBe(USERS);
    expect(await count('(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2147483648))')).toBe(5);
    expect(await count(`(memberOf=${dir.groupDn('Small').toLowerCase()})`)).toBe(3);
    expect(await count(`(memberOf:1.2.840.113556.1.4.1941:=${dir.groupDn('Parent')})`)).toBe(5); // user 3, Small, users 0-2
    expect(await count(`(member=${dir.userDn(1)})`)).toBe(3); // Big, Small, Exactly1500
    expect(await count('(uSNChanged>=14000)')).toBeGreaterThan(0);
    expect(await count('(description=*)')).toBe(5);

    // scopes
    expect((await c.search(dir.baseDn, { scope: 'one', attributes: ['1.1'] })).searchEntries.map((e) => e.dn)).toEqual([dir.usersDn, dir.groupsDn]);
    expect((await c.search(dir.userDn(7), { scope: 'base', attributes: ['cn'] })).searchEntries).toHaveLength(1);
    expect((await c.search(dir.userDn(7).toUpperCase(), { scope: 'base', attributes: ['cn'] })).searchEntries[0]!.dn).toBe(dir.userDn(7));
    const missing = await c.search(`CN=Nobody,${dir.usersDn}`, { scope: 'base' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoSuchObjectError);
    expect((missing as Error).message).toContain('0000208D');
  });

  it('lets a test change the directory between reads', async () => {
    const c = await connect();
    ad.setEntries(makeAdDirectory({ users: 3 }).entries);
    expect((await c.search(dir.usersDn, { filter: '(objectClass=user)' })).searchEntries).toHaveLength(3);
  });

  it('dropConnectionsAfter makes a paged read reject mid-way', async () => {
    const c = await connect();
    ad.dropConnectionsAfter(1200);
    const err = await c.search(dir.usersDn, { filter: '(objectClass=user)', paged: { pageSize: 500 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Connection closed|Socket error|ECONNRESET/);
    expect(ad.stats.droppedConnections).toBeGreaterThanOrEqual(1);
    expect(ad.searchLog.map((s) => s.entriesSent)).toEqual([500, 500, 200]);

    // Every new connection is cut too, until disarmed
    const again = await connect();
    await expect(again.search(dir.usersDn, { filter: '(objectClass=user)', paged: { pageSize: 1000 } })).rejects.toThrow();
    ad.dropConnectionsAfter(null);
    const ok = await connect();
    expect((await ok.search(dir.usersDn, { filter: '(objectClass=user)', paged: { pageSize: 1000 } })).searchEntries).toHaveLength(USERS);

    // { once: true } cuts one connection only
    ad.dropConnectionsAfter(10, { once: true });
    const first = await connect();
    await expect(first.search(dir.usersDn, { filter: '(objectClass=user)', paged: { pageSize: 100 } })).rejects.toThrow();
    const second = await connect();
    expect((await second.search(dir.usersDn, { filter: '(objectClass=user)', paged: { pageSize: 1000 } })).searchEntries).toHaveLength(USERS);
  });
});
