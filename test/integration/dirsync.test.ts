/**
 * The DirSync change tracker against a real Active Directory DC (Samba 4 AD, see
 * test/support/samba-ad.ts): a first read of everything, then each kind of change in turn, each
 * read continuing from the cookie of the one before (the tests run in order and share the DC).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { type EntryChanges, CookieRejectedError, type TrackRequest } from '../../src/directory/ldap/changes.ts';
import { decodeDirSyncCookie, encodeDirSyncCookie } from '../../src/directory/ldap/dirsync-control.ts';
import { DirSyncRefusedError, createDirSyncTracker } from '../../src/directory/ldap/dirsync.ts';
import { readDirSyncDse, supportsDirSync } from '../../src/directory/ldap/dirsync-dse.ts';
import type { RawEntry } from '../../src/directory/ldap/transform.ts';
import { type SambaAdHandle, startSambaAd } from '../support/samba-ad.ts';

const USERS_AND_GROUPS = '(|(&(objectCategory=person)(objectClass=user))(objectClass=group))';
const SALES_USERS = '(&(objectCategory=person)(objectClass=user)(department=Sales))';
const ATTRIBUTES = ['objectClass', 'objectGUID', 'sAMAccountName', 'mail', 'displayName', 'cn', 'userAccountControl', 'member', 'description'];
const BIG = 1600;

/** objectGUID bytes → text, written here independently of src/ (first three groups little-endian). */
function guidText(b: Buffer): string {
  const hex = (indices: number[]) => indices.map((i) => b[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`;
}

const values = (entry: RawEntry, name: string) => (entry.attrs.get(name.toLowerCase()) ?? []).map((v) => (Buffer.isBuffer(v) ? guidText(v) : v));
const first = (entry: RawEntry, name: string) => values(entry, name)[0];

describe('DirSync change tracking against Samba Active Directory', () => {
  let ad: SambaAdHandle;
  let admin: Client;
  let trackerClient: Client;
  const dnOf = (cn: string) => `CN=${cn},${ad.usersDn}`;
  const elsewhere = () => `OU=Elsewhere,${ad.baseDn}`;
  const guids = new Map<string, string>();
  /** One cookie per tracked scope, advanced by every read. */
  const cookies = new Map<string, string | null>();

  const user = (cn: string, extra = '') =>
    `dn: ${dnOf(cn)}\nobjectClass: user\nsAMAccountName: ${cn}\nuserAccountControl: 512\nmail: ${cn}@gs.test\ndisplayName: ${cn}\n${extra}`;
  const group = (cn: string, members: string[]) =>
    `dn: ${dnOf(cn)}\nobjectClass: group\nsAMAccountName: ${cn}\ndescription: ${cn}\n${members.map((m) => `member: ${m}\n`).join('')}`;
  const bigUser = (i: number) => `gs-b${String(i).padStart(4, '0')}`;

  async function guidOf(dn: string): Promise<string> {
    const { searchEntries } = await admin.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] });
    return guidText(searchEntries[0]!.objectGUID as Buffer);
  }

  /** Reads the changes of one scope from its stored cookie, and stores the new cookie. */
  async function track(scope: 'all' | 'users-container' | 'elsewhere' | 'sales', cookie?: string | null): Promise<EntryChanges> {
    const request: TrackRequest = {
      base: scope === 'users-container' ? ad.usersDn : scope === 'elsewhere' ? elsewhere() : ad.baseDn,
      filter: scope === 'sales' ? SALES_USERS : USERS_AND_GROUPS,
      attributes: ATTRIBUTES,
      cookie: cookie === undefined ? (cookies.get(scope) ?? null) : cookie,
    };
    const changes = await createDirSyncTracker({ client: trackerClient }).read(request);
    cookies.set(scope, changes.cookie);
    return changes;
  }

  const byName = (changes: EntryChanges) => new Map(changes.entries.map((e) => [String(first(e, 'sAMAccountName')), e]));
  const names = (changes: EntryChanges) => [...byName(changes).keys()].sort();

  beforeAll(async () => {
    ad = await startSambaAd({ waitForPortMs: 120_000 });
    const big = Array.from({ length: BIG }, (_, i) => bigUser(i));
    await ad.addLdif(
      [
        `dn: ${elsewhere()}\nobjectClass: organizationalUnit\n`,
        user('u-alice'),
        user('u-bob'),
        user('u-carol', 'department: Sales\n'),
        user('u-erin'),
        ...big.map((cn) => user(cn)),
        group('g-team', [dnOf('u-alice'), dnOf('u-bob')]),
        group('g-inner', [dnOf('u-carol')]),
        group('g-outer', [dnOf('g-inner')]),
        group('g-big', []),
      ].join('\n'),
    );
    await ad.addMembers(dnOf('g-big'), big.map(dnOf), 500);
    admin = await ad.client();
    trackerClient = await ad.client();
    for (const cn of ['u-alice', 'u-bob', 'u-carol', 'u-erin', 'g-team', 'g-inner', 'g-outer', 'g-big']) guids.set(cn, await guidOf(dnOf(cn)));
  }, 240_000);

  afterAll(async () => {
    await admin?.unbind().catch(() => {});
    await trackerClient?.unbind().catch(() => {});
    await ad?.stop();
  }, 30_000);

  it('the DC announces DirSync in its root DSE, with an invocationId and a highestCommittedUSN', async () => {
    const dse = await readDirSyncDse(trackerClient);
    expect(supportsDirSync(dse)).toBe(true);
    expect(supportsDirSync({ supportedControl: ['1.2.840.113556.1.4.319'] })).toBe(false);
    expect(dse.invocationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(dse.highestCommittedUsn).toBeGreaterThan(0n);
  });

  it('a first read (no cookie) returns every user and group under the base, whole', async () => {
    const changes = await track('all', null);
    expect(changes.kind).toBe('refresh');
    expect(changes.partial).toBe(false);
    expect(changes.deletedIds).toEqual([]);
    // The same set as a plain paged search with the same filter.
    const plain = await admin.search(ad.baseDn, { filter: USERS_AND_GROUPS, attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'], paged: { pageSize: 500 } });
    const expected = plain.searchEntries.map((e) => guidText(e.objectGUID as Buffer)).sort();
    expect(changes.entries.map((e) => first(e, 'objectGUID')).sort()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(BIG + 8);

    const team = byName(changes).get('g-team')!;
    // DirSync never sends the RDN attribute; the tracker puts it back from the DN.
    expect(first(team, 'cn')).toBe('g-team');
    expect(values(team, 'member').sort()).toEqual([dnOf('u-alice'), dnOf('u-bob')]);
    const alice = byName(changes).get('u-alice')!;
    expect([first(alice, 'mail'), first(alice, 'displayName'), first(alice, 'cn'), first(alice, 'objectGUID')]).toEqual([
      'u-alice@gs.test',
      'u-alice',
      'u-alice',
      guids.get('u-alice'),
    ]);
    expect(values(byName(changes).get('g-big')!, 'member')).toHaveLength(BIG);
    // Only what was asked for (and the id): not the isDeleted the tracker asks for itself.
    expect([...team.attrs.keys()].every((k) => ATTRIBUTES.some((a) => a.toLowerCase() === k))).toBe(true);

    // The other scopes start here too.
    expect(names(await track('users-container', null))).toContain('u-alice');
    expect(names(await track('sales', null))).toEqual(['u-carol']);
  });

  it('a read with no change since the cookie returns nothing', async () => {
    const changes = await track('all');
    expect(changes).toMatchObject({ kind: 'delta', entries: [], deletedIds: [], presentIds: null });
  });

  it('a user added comes back whole', async () => {
    await ad.addLdif(user('u-dave'));
    guids.set('u-dave', await guidOf(dnOf('u-dave')));
    const changes = await track('all');
    expect(changes.kind).toBe('delta');
    expect(names(changes)).toEqual(['u-dave']);
    expect(changes.deletedIds).toEqual([]);
    const dave = changes.entries[0]!;
    expect([first(dave, 'objectGUID'), first(dave, 'mail'), first(dave, 'cn'), first(dave, 'userAccountControl')]).toEqual([guids.get('u-dave'), 'u-dave@gs.test', 'u-dave', '512']);
  });

  it('mail and displayName replaced, an account disabled, a mail cleared: exactly those users, whole', async () => {
    await ad.modifyLdif(
      [
        `dn: ${dnOf('u-alice')}\nchangetype: modify\nreplace: mail\nmail: alice.new@gs.test\n-\nreplace: displayName\ndisplayName: Alice New\n-\n`,
        `dn: ${dnOf('u-bob')}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n-\n`,
        `dn: ${dnOf('u-erin')}\nchangetype: modify\ndelete: mail\n-\n`,
      ].join('\n'),
    );
    const changes = await track('all');
    expect(names(changes)).toEqual(['u-alice', 'u-bob', 'u-erin']);
    expect(changes.deletedIds).toEqual([]);
    const got = byName(changes);
    expect([first(got.get('u-alice')!, 'mail'), first(got.get('u-alice')!, 'displayName'), first(got.get('u-alice')!, 'sAMAccountName')]).toEqual([
      'alice.new@gs.test',
      'Alice New',
      'u-alice',
    ]);
    expect(first(got.get('u-bob')!, 'userAccountControl')).toBe('514');
    expect(first(got.get('u-bob')!, 'mail')).toBe('u-bob@gs.test');
    expect(values(got.get('u-erin')!, 'mail')).toEqual([]);
    expect(first(got.get('u-erin')!, 'displayName')).toBe('u-erin');
  });

  it('a user deleted is a deletedId; the group it was in is not reported (AD drops the link without changing the group)', async () => {
    await ad.deleteDn(dnOf('u-bob'));
    const changes = await track('all');
    expect(changes.deletedIds).toEqual([guids.get('u-bob')]);
    expect(changes.entries).toEqual([]);
    const team = await admin.search(dnOf('g-team'), { scope: 'base', attributes: ['member'] });
    expect(team.searchEntries[0]!.member).toBe(dnOf('u-alice'));
  });

  it('a user renamed comes back under its new DN; moved out of a tracked base, it is a deletedId there', async () => {
    await admin.modifyDN(dnOf('u-alice'), `CN=u-alice-renamed,${ad.usersDn}`);
    let changes = await track('all');
    expect(names(changes)).toEqual(['u-alice']);
    expect(changes.entries[0]!.dn).toBe(`CN=u-alice-renamed,${ad.usersDn}`);
    expect(first(changes.entries[0]!, 'cn')).toBe('u-alice-renamed');
    expect(first(changes.entries[0]!, 'objectGUID')).toBe(guids.get('u-alice'));
    expect(changes.deletedIds).toEqual([]);

    await admin.modifyDN(`CN=u-alice-renamed,${ad.usersDn}`, `CN=u-alice-renamed,${elsewhere()}`);
    changes = await track('all');
    expect(names(changes)).toEqual(['u-alice']);
    expect(changes.entries[0]!.dn).toBe(`CN=u-alice-renamed,${elsewhere()}`);

    // The tracker of CN=Users has not read since its first read: everything since, in one delta.
    const users = await track('users-container');
    expect(users.kind).toBe('delta');
    expect([...users.deletedIds].sort()).toEqual([guids.get('u-alice'), guids.get('u-bob')].sort());
    expect(names(users)).toEqual(['u-dave', 'u-erin']);
  });

  it('an OU renamed: the users under it come back under their new DN (AD reports the OU alone)', async () => {
    await ad.addLdif([`dn: OU=Team,${ad.baseDn}\nobjectClass: organizationalUnit\n`, user('u-olga').replace(dnOf('u-olga'), `CN=u-olga,OU=Team,${ad.baseDn}`)].join('\n'));
    let changes = await track('all');
    expect(names(changes)).toEqual(['u-olga']);
    const olga = first(changes.entries[0]!, 'objectGUID');

    await admin.modifyDN(`OU=Team,${ad.baseDn}`, `OU=Squad,${ad.baseDn}`);
    changes = await track('all');
    expect(names(changes)).toEqual(['u-olga']);
    expect(changes.entries[0]!.dn).toBe(`CN=u-olga,OU=Squad,${ad.baseDn}`);
    expect(changes.deletedIds).not.toContain(olga);

    // An OU moved into a tracked base brings its users in, whole; moved out again, they are gone.
    expect(names(await track('elsewhere', null))).toEqual(['u-alice']);
    await admin.modifyDN(`OU=Squad,${ad.baseDn}`, `OU=Squad,${elsewhere()}`);
    changes = await track('elsewhere');
    expect(names(changes)).toEqual(['u-olga']);
    expect(first(changes.entries[0]!, 'mail')).toBe('u-olga@gs.test');
    await admin.modifyDN(`OU=Squad,${elsewhere()}`, `OU=Squad,${ad.baseDn}`);
    changes = await track('elsewhere');
    expect(changes.entries).toEqual([]);
    expect(changes.deletedIds).toContain(olga);
    await track('all');
  });

  it('group members added and removed, also in a nested group: exactly the changed groups, with their whole member list', async () => {
    await ad.modifyLdif(
      [
        `dn: ${dnOf('g-team')}\nchangetype: modify\nadd: member\nmember: ${dnOf('u-dave')}\nmember: ${dnOf('u-erin')}\n-\n`,
        `dn: ${dnOf('g-inner')}\nchangetype: modify\nadd: member\nmember: ${dnOf('u-dave')}\n-\ndelete: member\nmember: ${dnOf('u-carol')}\n-\n`,
      ].join('\n'),
    );
    let changes = await track('all');
    expect(names(changes)).toEqual(['g-inner', 'g-team']);
    const got = byName(changes);
    expect(values(got.get('g-team')!, 'member').sort()).toEqual([`CN=u-alice-renamed,${elsewhere()}`, dnOf('u-dave'), dnOf('u-erin')].sort());
    expect(values(got.get('g-inner')!, 'member')).toEqual([dnOf('u-dave')]);

    // The last member removed: the group comes back with no member at all.
    await ad.modifyLdif(`dn: ${dnOf('g-inner')}\nchangetype: modify\ndelete: member\nmember: ${dnOf('u-dave')}\n-\n`);
    changes = await track('all');
    expect(names(changes)).toEqual(['g-inner']);
    expect(values(changes.entries[0]!, 'member')).toEqual([]);
  });

  it('a group created and then deleted', async () => {
    await ad.addLdif(group('g-new', [dnOf('u-dave')]));
    const guid = await guidOf(dnOf('g-new'));
    let changes = await track('all');
    expect(names(changes)).toEqual(['g-new']);
    expect(first(changes.entries[0]!, 'cn')).toBe('g-new');
    expect(values(changes.entries[0]!, 'member')).toEqual([dnOf('u-dave')]);

    await ad.deleteDn(dnOf('g-new'));
    changes = await track('all');
    expect(changes.entries).toEqual([]);
    expect(changes.deletedIds).toEqual([guid]);
  });

  it(`a group of more than 1,500 members changed comes back with all its members (${BIG + 1}, then ${BIG - 1})`, async () => {
    await ad.addMembers(dnOf('g-big'), [dnOf('u-dave')]);
    let changes = await track('all');
    expect(names(changes)).toEqual(['g-big']);
    expect(values(changes.entries[0]!, 'member')).toHaveLength(BIG + 1);

    await ad.modifyLdif(`dn: ${dnOf('g-big')}\nchangetype: modify\ndelete: member\nmember: ${dnOf('u-dave')}\nmember: ${dnOf(bigUser(0))}\n-\n`);
    changes = await track('all');
    expect(names(changes)).toEqual(['g-big']);
    const members = values(changes.entries[0]!, 'member');
    expect(members).toHaveLength(BIG - 1);
    expect(members).not.toContain(dnOf(bigUser(0)));
  });

  it('a user leaving the tracked filter is a deletedId; one entering it comes back whole', async () => {
    await ad.modifyLdif(
      [
        `dn: ${dnOf('u-carol')}\nchangetype: modify\nreplace: department\ndepartment: Support\n-\n`,
        `dn: ${dnOf('u-dave')}\nchangetype: modify\nadd: department\ndepartment: Sales\n-\n`,
      ].join('\n'),
    );
    const changes = await track('sales');
    expect(changes.deletedIds).toContain(guids.get('u-carol'));
    expect(changes.deletedIds).not.toContain(guids.get('u-dave'));
    expect(names(changes)).toEqual(['u-dave']);
    expect([first(changes.entries[0]!, 'mail'), first(changes.entries[0]!, 'cn')]).toEqual(['u-dave@gs.test', 'u-dave']);
  });

  it('after all that, a read with no change returns nothing', async () => {
    await track('all'); // the department changes of the test before
    const changes = await track('all');
    expect(changes).toMatchObject({ kind: 'delta', entries: [], deletedIds: [] });
  });

  it('refuses with CookieRejectedError: a garbage cookie, a cookie the DC cannot read, another DC, another scope', async () => {
    const good = cookies.get('all')!;
    const reason = async (cookie: string, scope: 'all' | 'sales' = 'all') => {
      const error = await track(scope, cookie).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CookieRejectedError);
      return (error as CookieRejectedError).reason;
    };
    expect(await reason('not a cookie')).toMatch(/not a DirSync cookie/);
    const decoded = decodeDirSyncCookie(good);
    expect(await reason(encodeDirSyncCookie({ ...decoded, server: Buffer.from('garbage') }))).toMatch(/refused the cookie.*unmarshall cookie/);
    expect(await reason(encodeDirSyncCookie({ ...decoded, invocationId: '00000000-1111-2222-3333-444444444444' }))).toMatch(/another domain controller/);
    expect(await reason(good, 'sales')).toMatch(/base, filter or attributes changed/);
    // The good cookie still works.
    expect((await track('all', good)).entries).toEqual([]);
  });

  it('an account without the "Replicating Directory Changes" right is refused with a sentence naming the right; granted it, it reads', async () => {
    // A plain domain user with a password (samba-tool on the DC's database: Samba refuses
    // password writes over plain LDAP).
    const onDatabase = ['-H', `tdb://${join(ad.dir, 'private', 'sam.ldb')}`, '--configfile', join(ad.dir, 'etc', 'smb.conf')];
    execFileSync('samba-tool', ['user', 'create', 'gs-reader', 'Reader-Passw0rd!', ...onDatabase]);
    const reader = new Client({ url: ad.url });
    await reader.bind(dnOf('gs-reader'), 'Reader-Passw0rd!');
    try {
      const request: TrackRequest = { base: ad.baseDn, filter: USERS_AND_GROUPS, attributes: ATTRIBUTES, cookie: null };
      const error = await createDirSyncTracker({ client: reader })
        .read(request)
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(DirSyncRefusedError);
      expect((error as DirSyncRefusedError).code).toBe('DIRECTORY_READ_FAILED');
      expect((error as Error).message).toMatch(/Replicating Directory Changes.*DC=gs,DC=test/);

      // What the README tells an admin to do, done on Samba: grant the right on the domain.
      execFileSync('samba-tool', ['dsacl', 'set', '--car=get-changes', '--action=allow', `--objectdn=${ad.baseDn}`, `--trusteedn=${dnOf('gs-reader')}`, ...onDatabase]);
      const granted = await createDirSyncTracker({ client: reader }).read(request);
      const asAdmin = await createDirSyncTracker({ client: trackerClient }).read(request);
      expect(granted.entries.map((e) => first(e, 'objectGUID')).sort()).toEqual(asAdmin.entries.map((e) => first(e, 'objectGUID')).sort());
      // Samba, unlike Windows, hides tombstones from an account that is not an administrator even
      // with the right: the deletion reaches the administrator's tracker only (the README says so;
      // the reconciliation read finds it for the other).
      await ad.deleteDn(dnOf('u-erin'));
      expect((await createDirSyncTracker({ client: reader }).read({ ...request, cookie: granted.cookie })).deletedIds).not.toContain(guids.get('u-erin'));
      expect((await createDirSyncTracker({ client: trackerClient }).read({ ...request, cookie: asAdmin.cookie })).deletedIds).toEqual([guids.get('u-erin')]);
    } finally {
      await reader.unbind().catch(() => {});
    }
  });

  it('a DC restored from a backup (same invocationId, its USN gone back) refuses the cookie instead of answering "no change"', async () => {
    const cookie = cookies.get('all')!;
    await admin.unbind();
    await trackerClient.unbind();
    await ad.stop();
    // A new copy of the same provisioned template: the DC as it was before every change above.
    ad = await startSambaAd({ waitForPortMs: 60_000 });
    admin = await ad.client();
    trackerClient = await ad.client();
    const error = await track('all', cookie).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CookieRejectedError);
    expect((error as CookieRejectedError).reason).toMatch(/update sequence went back.*restored/);
  });
});
