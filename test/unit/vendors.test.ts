import { describe, expect, it } from 'vitest';
import { detectVendor, resolveProfile, type RootDse, VENDOR_PROFILES } from '../../src/directory/ldap/vendors.ts';

function dse(fields: Partial<RootDse>): RootDse {
  return { supportedCapabilities: [], vendorName: null, objectClass: ['top'], defaultNamingContext: null, namingContexts: [], ...fields };
}

describe('detectVendor from the root DSE', () => {
  it.each([
    {
      what: 'Active Directory (LDAP_CAP_ACTIVE_DIRECTORY_OID)',
      dse: dse({
        supportedCapabilities: ['1.2.840.113556.1.4.800', '1.2.840.113556.1.4.1670', '1.2.840.113556.1.4.1791', '1.2.840.113556.1.4.1935'],
        defaultNamingContext: 'DC=corp,DC=example,DC=com',
        namingContexts: ['DC=corp,DC=example,DC=com', 'CN=Configuration,DC=corp,DC=example,DC=com'],
      }),
      vendor: 'active-directory',
    },
    { what: 'Samba AD (the AD capability alone)', dse: dse({ supportedCapabilities: ['1.2.840.113556.1.4.800'] }), vendor: 'active-directory' },
    {
      what: 'OpenLDAP (objectClass OpenLDAProotDSE)',
      dse: dse({ objectClass: ['top', 'OpenLDAProotDSE'], namingContexts: ['dc=example,dc=org'] }),
      vendor: 'openldap',
    },
    { what: 'OpenLDAP, class in lower case', dse: dse({ objectClass: ['openldaprootdse'] }), vendor: 'openldap' },
    { what: '389 Directory Server (vendorName "389 Project")', dse: dse({ vendorName: '389 Project', namingContexts: ['dc=example,dc=com'] }), vendor: '389ds' },
    { what: 'Red Hat Directory Server', dse: dse({ vendorName: 'Red Hat, Inc.' }), vendor: '389ds' },
    { what: 'Fedora Directory Server', dse: dse({ vendorName: 'Fedora Project' }), vendor: '389ds' },
    { what: 'another vendor (ApacheDS)', dse: dse({ vendorName: 'Apache Software Foundation' }), vendor: 'generic' },
    { what: 'an empty root DSE', dse: dse({}), vendor: 'generic' },
  ])('$what → $vendor', ({ dse, vendor }) => {
    expect(detectVendor(dse)).toBe(vendor);
  });
});

describe('resolveProfile', () => {
  it.each(['active-directory', 'openldap', '389ds', 'generic'] as const)('without overrides, %s is its vendor profile', (vendor) => {
    expect(resolveProfile(vendor, {})).toEqual(VENDOR_PROFILES[vendor]);
  });

  it.each([
    { what: 'AD defaults', vendor: 'active-directory' as const, overrides: {}, expect: { id: 'objectGUID', idIsGuid: true, login: 'sAMAccountName', disabled: 'userAccountControl', member: ['member'], rangedMembers: true } },
    { what: 'OpenLDAP defaults', vendor: 'openldap' as const, overrides: {}, expect: { id: 'entryUUID', idIsGuid: false, login: 'uid', disabled: 'pwdAccountLockedTime', member: ['member', 'uniqueMember'], rangedMembers: false } },
    { what: '389 defaults', vendor: '389ds' as const, overrides: {}, expect: { vendor: '389ds', id: 'nsUniqueId', idIsGuid: false, disabled: 'nsAccountLock' } },
    { what: 'generic is OpenLDAP-shaped', vendor: 'generic' as const, overrides: {}, expect: { vendor: 'generic', id: 'entryUUID', login: 'uid' } },
    {
      what: 'every attribute overridden',
      vendor: 'openldap' as const,
      overrides: { id: 'employeeNumber', login: 'cn', mail: 'email', displayName: 'gecos', disabled: 'employeeType', groupName: 'ou', groupDescription: 'info', member: 'memberUid' },
      expect: { id: 'employeeNumber', idIsGuid: false, login: 'cn', mail: 'email', displayName: 'gecos', disabled: 'employeeType', groupName: 'ou', groupDescription: 'info', member: ['memberUid'] },
    },
    { what: 'an AD id override away from objectGUID is text', vendor: 'active-directory' as const, overrides: { id: 'employeeID' }, expect: { id: 'employeeID', idIsGuid: false } },
    { what: 'objectGUID as an override is binary, in any case', vendor: 'generic' as const, overrides: { id: 'ObjectGUID' }, expect: { id: 'ObjectGUID', idIsGuid: true } },
    { what: 'AD keeps ranged members with a member override', vendor: 'active-directory' as const, overrides: { member: 'member' }, expect: { member: ['member'], rangedMembers: true } },
    { what: 'undefined overrides change nothing', vendor: 'active-directory' as const, overrides: { id: undefined, mail: undefined }, expect: { id: 'objectGUID', idIsGuid: true, mail: 'mail' } },
  ])('$what', ({ vendor, overrides, expect: wanted }) => {
    expect(resolveProfile(vendor, overrides)).toMatchObject(wanted);
  });

  it('leaves the vendor profile itself untouched and returns a frozen profile', () => {
    const before = structuredClone(VENDOR_PROFILES.openldap);
    const profile = resolveProfile('openldap', { disabled: 'employeeType', member: 'memberUid' });
    expect(VENDOR_PROFILES.openldap).toEqual(before);
    expect(Object.isFrozen(profile)).toBe(true);
  });
});
