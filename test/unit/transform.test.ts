import { describe, expect, it } from 'vitest';
import {
  decodeObjectGuid,
  encodeObjectGuid,
  isDisabled,
  isSkipped,
  memberChunks,
  type RawEntry,
  stableId,
  toRawEntry,
  transformUser,
} from '../../src/directory/ldap/transform.ts';
import { resolveProfile, VENDOR_PROFILES } from '../../src/directory/ldap/vendors.ts';

/** An entry as ldapts hands it over: attribute names in the server's case, one value (string or Buffer) or a list. */
function entry(dn: string, attrs: Readonly<Record<string, unknown>> = {}): RawEntry {
  return toRawEntry({ dn, ...attrs });
}

const AD = VENDOR_PROFILES['active-directory'];
const OPENLDAP = VENDOR_PROFILES.openldap;
const DS389 = VENDOR_PROFILES['389ds'];
const EMPLOYEE_TYPE = resolveProfile('openldap', { disabled: 'employeeType' });

describe('objectGUID', () => {
  it('decodes the known vector: the first three groups are little-endian', () => {
    expect(decodeObjectGuid(Buffer.from('00112233445566778899aabbccddeeff', 'hex'))).toBe('33221100-5544-7766-8899-aabbccddeeff');
  });

  it('encodes the known vector back to the same bytes', () => {
    expect(encodeObjectGuid('33221100-5544-7766-8899-aabbccddeeff').toString('hex')).toBe('00112233445566778899aabbccddeeff');
  });

  it('encodes upper-case text like lower-case text', () => {
    expect(encodeObjectGuid('33221100-5544-7766-8899-AABBCCDDEEFF')).toEqual(encodeObjectGuid('33221100-5544-7766-8899-aabbccddeeff'));
  });

  /** Deterministic byte patterns: all zero, all 0xff, and scrambled ones. */
  const samples = Array.from({ length: 20 }, (_, k) => ({
    k,
    bytes: k === 0 ? Buffer.alloc(16) : k === 1 ? Buffer.alloc(16, 0xff) : Buffer.from(Array.from({ length: 16 }, (_, i) => (i * 37 + k * 101 + ((i * k) ^ 0x5a)) & 0xff)),
  }));
  it.each(samples)(
    'round-trips bytes → text → bytes (#$k)',
    ({ bytes }) => {
      const text = decodeObjectGuid(bytes);
      expect(text).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(encodeObjectGuid(text)).toEqual(bytes);
      expect(decodeObjectGuid(encodeObjectGuid(text))).toBe(text);
    },
  );

  it.each([{ length: 0 }, { length: 15 }, { length: 17 }])('refuses $length bytes', ({ length }) => {
    expect(() => decodeObjectGuid(Buffer.alloc(length))).toThrow(/16 bytes/);
  });

  it.each(['', 'not-a-guid', '33221100-5544-7766-8899-aabbccddee', '33221100-5544-7766-8899-aabbccddeeffaa', 'g3221100-5544-7766-8899-aabbccddeeff'])(
    'refuses the text %j',
    (text) => {
      expect(() => encodeObjectGuid(text)).toThrow(/not a GUID/);
    },
  );
});

describe('isDisabled', () => {
  it.each([
    { what: 'AD userAccountControl 512 (normal account)', profile: AD, attrs: { userAccountControl: '512' }, disabled: false },
    { what: 'AD userAccountControl 514 (ACCOUNTDISABLE)', profile: AD, attrs: { userAccountControl: '514' }, disabled: true },
    { what: 'AD userAccountControl 66050 (disabled, password never expires)', profile: AD, attrs: { userAccountControl: '66050' }, disabled: true },
    { what: 'AD userAccountControl 66048 (enabled, password never expires)', profile: AD, attrs: { userAccountControl: '66048' }, disabled: false },
    { what: 'AD userAccountControl absent', profile: AD, attrs: {}, disabled: false },
    { what: 'AD userAccountControl not a number', profile: AD, attrs: { userAccountControl: 'x' }, disabled: false },
    { what: 'OpenLDAP pwdAccountLockedTime present', profile: OPENLDAP, attrs: { pwdAccountLockedTime: '20240101120000Z' }, disabled: true },
    { what: 'OpenLDAP pwdAccountLockedTime permanent lock', profile: OPENLDAP, attrs: { pwdAccountLockedTime: '000001010000Z' }, disabled: true },
    { what: 'OpenLDAP pwdAccountLockedTime absent', profile: OPENLDAP, attrs: {}, disabled: false },
    { what: '389 nsAccountLock TRUE', profile: DS389, attrs: { nsAccountLock: 'TRUE' }, disabled: true },
    { what: '389 nsAccountLock true', profile: DS389, attrs: { nsAccountLock: 'true' }, disabled: true },
    { what: '389 nsAccountLock false', profile: DS389, attrs: { nsAccountLock: 'false' }, disabled: false },
    { what: '389 nsAccountLock FALSE', profile: DS389, attrs: { nsAccountLock: 'FALSE' }, disabled: false },
    { what: '389 nsAccountLock absent', profile: DS389, attrs: {}, disabled: false },
    { what: 'custom employeeType disabled', profile: EMPLOYEE_TYPE, attrs: { employeeType: 'disabled' }, disabled: true },
    { what: 'custom employeeType Disabled', profile: EMPLOYEE_TYPE, attrs: { employeeType: 'Disabled' }, disabled: true },
    { what: 'custom employeeType staff', profile: EMPLOYEE_TYPE, attrs: { employeeType: 'staff' }, disabled: false },
    { what: 'custom employeeType absent', profile: EMPLOYEE_TYPE, attrs: {}, disabled: false },
    { what: 'attribute names in any letter case', profile: AD, attrs: { USERACCOUNTCONTROL: '514' }, disabled: true },
  ])('$what → disabled: $disabled', ({ profile, attrs, disabled }) => {
    expect(isDisabled(entry('uid=u,dc=org', attrs), profile)).toBe(disabled);
  });
});

describe('stableId', () => {
  const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  it.each([
    { what: 'AD objectGUID bytes', profile: AD, attrs: { objectGUID: guid }, id: '33221100-5544-7766-8899-aabbccddeeff' },
    { what: 'AD objectGUID of the wrong length', profile: AD, attrs: { objectGUID: Buffer.alloc(4) }, id: null },
    { what: 'OpenLDAP entryUUID, lower-cased', profile: OPENLDAP, attrs: { entryUUID: 'C1B3DB3B-B13A-5180-BDD3-7C1A8BBD4187' }, id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187' },
    { what: '389 nsUniqueId', profile: DS389, attrs: { nsUniqueId: '8F2A1C01-1DD211B2-80B5C3E4-4F7F0000' }, id: '8f2a1c01-1dd211b2-80b5c3e4-4f7f0000' },
    { what: 'no id', profile: OPENLDAP, attrs: {}, id: null },
    { what: 'an empty id', profile: OPENLDAP, attrs: { entryUUID: '' }, id: null },
  ])('$what', ({ profile, attrs, id }) => {
    expect(stableId(entry('cn=x', attrs), profile)).toBe(id);
  });
});

describe('transformUser', () => {
  const alice = {
    objectClass: ['top', 'inetOrgPerson'],
    entryUUID: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187',
    uid: 'alice',
    mail: 'alice@example.org',
    displayName: 'Alice Martin',
    cn: 'Alice M.',
  };
  const dn = 'uid=alice,ou=people,dc=example,dc=org';

  it.each([
    {
      what: 'a complete entry',
      attrs: alice,
      user: { id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187', dn, login: 'alice', mail: 'alice@example.org', displayName: 'Alice Martin', enabled: true },
    },
    {
      what: 'no displayName: falls back to cn',
      attrs: { ...alice, displayName: [] },
      user: { id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187', dn, login: 'alice', mail: 'alice@example.org', displayName: 'Alice M.', enabled: true },
    },
    {
      what: 'no mail: kept, with mail null (the planner decides)',
      attrs: { ...alice, mail: [] },
      user: { id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187', dn, login: 'alice', mail: null, displayName: 'Alice Martin', enabled: true },
    },
    {
      what: 'locked: enabled false',
      attrs: { ...alice, pwdAccountLockedTime: '000001010000Z' },
      user: { id: 'c1b3db3b-b13a-5180-bdd3-7c1a8bbd4187', dn, login: 'alice', mail: 'alice@example.org', displayName: 'Alice Martin', enabled: false },
    },
  ])('$what', ({ attrs, user }) => {
    const result = transformUser(entry(dn, attrs), OPENLDAP);
    expect(isSkipped(result)).toBe(false);
    expect(result).toEqual(user);
  });

  it.each([
    { what: 'no entryUUID', attrs: { ...alice, entryUUID: [] }, reason: /no entryUUID \(stable id\)/ },
    { what: 'a mail without "@"', attrs: { ...alice, mail: 'alice.example.org' }, reason: /invalid mail value "alice.example.org"/ },
    { what: 'a mail with a space', attrs: { ...alice, mail: 'alice martin@example.org' }, reason: /invalid mail/ },
    { what: 'a mail with two "@"', attrs: { ...alice, mail: 'alice@x@example.org' }, reason: /invalid mail/ },
  ])('skips an entry with $what, giving the DN and the reason', ({ attrs, reason }) => {
    const result = transformUser(entry(dn, attrs), OPENLDAP);
    expect(isSkipped(result)).toBe(true);
    if (!isSkipped(result)) return;
    expect(result.ref).toBe(dn);
    expect(result.reason).toMatch(reason);
  });

  it.each([
    { what: 'a stray byte', bytes: [0x41, 0xff, 0x42], text: 'A\udcffB' },
    { what: 'a cut sequence', bytes: [0x5a, 0xc3], text: 'Z\udcc3' },
    { what: 'an encoded surrogate', bytes: [0xed, 0xa0, 0x80, 0x21], text: '\udced\udca0\udc80!' },
    { what: 'valid UTF-8 given as bytes', bytes: [0x5a, 0xc3, 0xab], text: 'Zë' },
  ])('decodes a value given as bytes ($what), each byte that is not UTF-8 as U+DC80–U+DCFF for validateSnapshot to skip', ({ bytes, text }) => {
    const result = transformUser(entry(dn, { ...alice, displayName: Buffer.from(bytes) }), OPENLDAP);
    expect(isSkipped(result) ? result : result.displayName).toBe(text);
  });

  it('reads an AD user: objectGUID bytes, sAMAccountName, userAccountControl', () => {
    const result = transformUser(
      entry('CN=Bob,OU=Staff,DC=corp,DC=example', {
        objectGUID: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
        sAMAccountName: 'bob',
        mail: 'Bob@Corp.Example',
        displayName: 'Bob Chen',
        userAccountControl: '66050',
      }),
      AD,
    );
    expect(result).toEqual({
      id: '33221100-5544-7766-8899-aabbccddeeff',
      dn: 'CN=Bob,OU=Staff,DC=corp,DC=example',
      login: 'bob',
      mail: 'Bob@Corp.Example',
      displayName: 'Bob Chen',
      enabled: false,
    });
  });

  it('skips an AD user whose objectGUID is not 16 bytes', () => {
    const result = transformUser(entry('CN=Bad,DC=corp', { objectGUID: Buffer.alloc(3), sAMAccountName: 'bad' }), AD);
    expect(isSkipped(result) && result.reason).toMatch(/no objectGUID/);
  });
});

describe('memberChunks', () => {
  const first = Array.from({ length: 1500 }, (_, k) => `uid=u${k},ou=people,dc=org`);
  it.each([
    {
      what: 'a plain member attribute: complete',
      attrs: { member: ['uid=a,dc=org', 'uid=b,dc=org'] },
      chunks: { member: { values: ['uid=a,dc=org', 'uid=b,dc=org'], nextStart: null } },
    },
    {
      what: 'member;range=0-1499: cut, continue at 1500',
      attrs: { 'member;range=0-1499': first },
      chunks: { member: { values: first, nextStart: 1500 } },
    },
    {
      what: 'member;range=1500-*: the last chunk',
      attrs: { 'member;range=1500-*': ['uid=last,dc=org'] },
      chunks: { member: { values: ['uid=last,dc=org'], nextStart: null } },
    },
    {
      what: 'member;range=1500-2999: a middle chunk',
      attrs: { 'member;range=1500-2999': ['uid=mid,dc=org'] },
      chunks: { member: { values: ['uid=mid,dc=org'], nextStart: 3000 } },
    },
    {
      what: 'the ranged key in another letter case',
      attrs: { 'Member;Range=0-1499': first },
      chunks: { member: { values: first, nextStart: 1500 } },
    },
    {
      what: 'AD: an empty plain member before the ranged one',
      attrs: { member: [], 'member;range=0-1499': first },
      chunks: { member: { values: first, nextStart: 1500 } },
    },
    {
      what: 'AD: an empty plain member after the ranged one',
      attrs: { 'member;range=0-1499': first, member: [] },
      chunks: { member: { values: first, nextStart: 1500 } },
    },
    {
      what: 'member and uniqueMember together',
      attrs: { member: 'uid=a,dc=org', uniqueMember: ['uid=b,dc=org'] },
      chunks: { member: { values: ['uid=a,dc=org'], nextStart: null }, uniquemember: { values: ['uid=b,dc=org'], nextStart: null } },
    },
    {
      what: 'attributes that are not member attributes',
      attrs: { memberOf: ['cn=g,dc=org'], 'memberOf;range=0-1499': ['cn=h,dc=org'], cn: 'group' },
      chunks: {},
    },
  ])('$what', ({ attrs, chunks }) => {
    const got = memberChunks(entry('cn=g,dc=org', attrs), ['member', 'uniqueMember']);
    expect(Object.fromEntries(got)).toEqual(chunks);
  });
});
