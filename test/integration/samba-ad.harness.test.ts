// Proves the Samba AD test peer behaves like a directory the sync can read, and pins down where
// Samba differs from Windows AD (no MaxPageSize, no MaxValRange cut).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, InvalidCredentialsError, NoSuchObjectError } from 'ldapts';
import { startSambaAd, type SambaAdHandle } from '../support/samba-ad.ts';

const USERS = 2000;
const userDn = (ad: SambaAdHandle, i: number) => `CN=gsu${String(i).padStart(5, '0')},${ad.usersDn}`;

function usersLdif(ad: SambaAdHandle, from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    const name = `gsu${String(i).padStart(5, '0')}`;
    // No unicodePwd: hashing a password costs ~20 ms per user. Samba (unlike Windows) accepts an
    // enabled account (512) without a password.
    out.push(
      `dn: ${userDn(ad, i)}\nobjectClass: user\nsAMAccountName: ${name}\nuserAccountControl: 512\n` +
        `mail: ${name}@gs.test\ndisplayName: User ${i}\n`,
    );
  }
  return out.join('\n');
}

describe('Samba AD test peer', () => {
  let ad: SambaAdHandle;
  let client: Client;
  const bigGroupDn = () => `CN=gs-big,${ad.usersDn}`;

  beforeAll(async () => {
    // One DC per machine (port 389): wait while another test file's DC runs.
    ad = await startSambaAd({ waitForPortMs: 110_000 });
    console.info(`samba ad: provision ${ad.timings.provisionMs} ms (provisioned: ${ad.timings.provisioned}), start ${ad.timings.startMs} ms`);
    const t = Date.now();
    await ad.addLdif(usersLdif(ad, 0, USERS));
    await ad.addLdif(
      [
        `dn: CN=gs-disabled,${ad.usersDn}\nobjectClass: user\nsAMAccountName: gs-disabled\nuserAccountControl: 514\nmail: disabled@gs.test\n`,
        `dn: ${bigGroupDn()}\nobjectClass: group\nsAMAccountName: gs-big\ndescription: 2000 members\n`,
        `dn: CN=gs-doomed,${ad.usersDn}\nobjectClass: group\nsAMAccountName: gs-doomed\n`,
      ].join('\n'),
    );
    await ad.addMembers(
      bigGroupDn(),
      Array.from({ length: USERS }, (_, i) => userDn(ad, i)),
      500,
    );
    console.info(`samba ad: loaded ${USERS} users + 2000-member group in ${Date.now() - t} ms`);
    client = await ad.client();
  }, 180_000);

  afterAll(async () => {
    await client?.unbind().catch(() => {});
    await ad?.stop();
  }, 30_000);

  it('accepts a simple bind by DN and by UPN, and rejects a wrong password with code 49', async () => {
    for (const dn of [ad.bindDn, ad.bindUpn]) {
      const c = new Client({ url: ad.url });
      await c.bind(dn, ad.password);
      await c.unbind();
    }
    const bad = new Client({ url: ad.url });
    await expect(bad.bind(ad.bindDn, 'wrong')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await bad.unbind().catch(() => {});
  });

  it('announces itself as AD in the root DSE (anonymously readable)', async () => {
    const anon = new Client({ url: ad.url });
    const { searchEntries } = await anon.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['*', 'supportedCapabilities', 'supportedControl', 'supportedLDAPPolicies', 'objectClass'],
    });
    await anon.unbind();
    const dse = searchEntries[0]!;
    expect(dse.supportedCapabilities).toContain('1.2.840.113556.1.4.800');
    expect(dse.supportedControl).toContain('1.2.840.113556.1.4.319');
    expect(dse.defaultNamingContext).toBe('DC=gs,DC=test');
    expect(dse.forestFunctionality).toBe('4'); // 2008 R2, Samba 4.17's default
    expect(dse.domainFunctionality).toBe('4');
    expect(dse.domainControllerFunctionality).toBe('4');
    expect(dse.dnsHostName).toBe('dc1.gs.test');
    // Differences from Windows: Samba names itself, and has no supportedLDAPPolicies / objectClass here.
    expect(dse.vendorName).toBe('Samba Team (https://www.samba.org)');
    expect(dse.supportedLDAPPolicies).toEqual([]);
    expect(dse.objectClass).toEqual([]);
  });

  it('keeps userAccountControl 514 (disabled) as written', async () => {
    const { searchEntries } = await client.search(ad.baseDn, {
      filter: '(sAMAccountName=gs-disabled)',
      attributes: ['userAccountControl', 'mail'],
    });
    expect(searchEntries).toHaveLength(1);
    expect(searchEntries[0]!.userAccountControl).toBe('514');
    // The bitwise-AND matching rule works.
    const disabled = await client.search(ad.usersDn, {
      filter: '(&(objectCategory=person)(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))',
      attributes: ['sAMAccountName'],
    });
    expect(disabled.searchEntries.map((e) => e.sAMAccountName)).toContain('gs-disabled');
  });

  it('returns objectGUID as 16 raw bytes with explicitBufferAttributes', async () => {
    const { searchEntries } = await client.search(ad.baseDn, {
      filter: '(sAMAccountName=gsu00001)',
      attributes: ['objectGUID', 'objectSid'],
      explicitBufferAttributes: ['objectGUID', 'objectSid'],
    });
    const guid = searchEntries[0]!.objectGUID;
    expect(Buffer.isBuffer(guid)).toBe(true);
    expect((guid as Buffer).length).toBe(16);
  });

  it('returns a 2,000-member group whole, both plainly and as member;range=0-* (no MaxValRange cut)', async () => {
    const plain = await client.search(bigGroupDn(), { scope: 'base', attributes: ['member'] });
    const p = plain.searchEntries[0]!;
    expect(Object.keys(p).sort()).toEqual(['dn', 'member']);
    expect(p.member).toHaveLength(USERS);

    const ranged = await client.search(bigGroupDn(), { scope: 'base', attributes: ['member;range=0-*'] });
    const r = ranged.searchEntries[0]!;
    // Samba answers with the requested option verbatim and all values; Windows would answer
    // `member;range=0-1499` here.
    expect(Object.keys(r).sort()).toEqual(['dn', 'member;range=0-*']);
    expect(r['member;range=0-*']).toHaveLength(USERS);

    const slice = await client.search(bigGroupDn(), { scope: 'base', attributes: ['member;range=1500-*'] });
    expect(slice.searchEntries[0]!['member;range=1500-*']).toHaveLength(USERS - 1500);
  });

  it('does not enforce MaxPageSize: an unpaged search returns more than 1,000 entries', async () => {
    const { searchEntries } = await client.search(ad.usersDn, {
      filter: '(&(objectCategory=person)(objectClass=user)(sAMAccountName=gsu*))',
      attributes: ['sAMAccountName'],
    });
    expect(searchEntries).toHaveLength(USERS);
    const paged = await client.search(ad.usersDn, {
      filter: '(&(objectClass=user)(sAMAccountName=gsu*))',
      attributes: ['sAMAccountName'],
      paged: { pageSize: 500 },
    });
    expect(paged.searchEntries).toHaveLength(USERS);
  });

  it('no longer returns a deleted object from a normal search', async () => {
    const dn = `CN=gs-doomed,${ad.usersDn}`;
    expect((await client.search(ad.usersDn, { filter: '(sAMAccountName=gs-doomed)' })).searchEntries).toHaveLength(1);
    await ad.deleteDn(dn);
    expect((await client.search(ad.usersDn, { filter: '(sAMAccountName=gs-doomed)' })).searchEntries).toHaveLength(0);
    // Samba's message differs from Windows' `0000208D: NameErr: ... NO_OBJECT`, the code (32) is the same.
    await expect(client.search(dn, { scope: 'base' })).rejects.toBeInstanceOf(NoSuchObjectError);
  });
});
