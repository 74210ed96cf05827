/**
 * The DirSync tracker where Samba does not behave like Windows AD (see test/support/samba-ad.ts):
 * a DC that answers DirSync in several responses (moreResults, AD's maxBytes cut) and cuts `member`
 * at MaxValRange. Against the fake AD server (test/support/fake-ad-server.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { CookieRejectedError, type TrackRequest } from '../../src/directory/ldap/changes.ts';
import { decodeDirSyncCookie, encodeDirSyncCookie } from '../../src/directory/ldap/dirsync-control.ts';
import { createDirSyncTracker } from '../../src/directory/ldap/dirsync.ts';
import { type FakeAdDirectory, type FakeAdServer, guidToString, makeAdDirectory, startFakeAd } from '../support/fake-ad-server.ts';

const BIND_DN = 'CN=svc-groupsync,CN=Users,DC=gs,DC=test';
const PASSWORD = 'Fake-AD-pw-1';
const USERS = 2500;
const ATTRIBUTES = ['objectClass', 'objectGUID', 'sAMAccountName', 'mail', 'cn', 'member'];
const FILTER = '(|(&(objectCategory=person)(objectClass=user))(objectClass=group))';

describe('DirSync tracker against a Windows-like DC (fake AD: moreResults, MaxValRange)', () => {
  let ad: FakeAdServer;
  let dir: FakeAdDirectory;
  let client: Client;

  beforeAll(async () => {
    dir = makeAdDirectory({ users: USERS, groups: [{ name: 'Big', memberCount: 2000 }, { name: 'Small', members: [0, 1] }] });
    ad = await startFakeAd({ entries: dir.entries, bindDn: BIND_DN, password: PASSWORD, dirSyncBatch: 1000, maxValRange: 1500 });
    client = new Client({ url: ad.url, timeout: 30_000 });
    await client.bind(BIND_DN, PASSWORD);
  });

  afterAll(async () => {
    await client?.unbind().catch(() => {});
    await ad?.stop();
  });

  const request = (cookie: string | null, base = dir.baseDn): TrackRequest => ({ base, filter: FILTER, attributes: ATTRIBUTES, cookie });

  it('follows moreResults to the end of the pass and reads a member list cut at 1,500 values to its end', async () => {
    ad.searchLog.length = 0;
    const changes = await createDirSyncTracker({ client }).read(request(null));
    expect(changes.kind).toBe('refresh');
    expect(changes.entries).toHaveLength(USERS + 2);
    const big = changes.entries.find((e) => e.dn === dir.groupDn('Big'))!;
    expect(big.attrs.get('member')).toHaveLength(2000);
    expect([...big.attrs.keys()].filter((k) => k.includes(';range='))).toEqual([]);
    expect(guidToString(big.attrs.get('objectguid')![0] as Buffer)).toBe(guidToString(dir.groupGuid('Big')));

    const dirSyncs = ad.searchLog.filter((s) => s.baseDn === dir.baseDn && s.scope === 'sub');
    expect(dirSyncs.map((s) => s.entriesSent)).toEqual([1000, 1000, USERS + 2 - 2000]);
    expect(ad.searchLog.some((s) => s.attributes.includes('member;range=1500-*'))).toBe(true);

    // The cookie that ended the pass: nothing changed since.
    const next = await createDirSyncTracker({ client }).read(request(changes.cookie));
    expect(next).toMatchObject({ kind: 'delta', entries: [], deletedIds: [] });
  });

  it('tracks a base below the naming context from the naming context, keeping only what lies under the base', async () => {
    const changes = await createDirSyncTracker({ client }).read(request(null, dir.groupsDn));
    expect(changes.entries.map((e) => e.dn).sort()).toEqual([dir.groupDn('Big'), dir.groupDn('Small')].sort());
    expect(decodeDirSyncCookie(changes.cookie).namingContext).toBe(dir.baseDn);
  });

  it("a server cookie the DC cannot read is a CookieRejectedError carrying the DC's answer", async () => {
    const good = (await createDirSyncTracker({ client }).read(request(null))).cookie;
    const bad = encodeDirSyncCookie({ ...decodeDirSyncCookie(good), server: Buffer.from('not-a-cookie') });
    const error = await createDirSyncTracker({ client })
      .read(request(bad))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CookieRejectedError);
    expect((error as CookieRejectedError).reason).toMatch(/refused the cookie.*Error processing control/);
  });
});
