import { describe, expect, it } from 'vitest';
import { Ber, BerReader, BerWriter, ControlParser, FilterParser } from 'ldapts';
import { CookieRejectedError } from '../../src/directory/ldap/changes.ts';
import {
  DIRSYNC_OID,
  DirSyncControl,
  decodeDirSyncCookie,
  decodeDirSyncResponse,
  encodeDirSyncCookie,
  encodeDirSyncRequest,
} from '../../src/directory/ldap/dirsync-control.ts';
import { namingContextOf } from '../../src/directory/ldap/dirsync-dse.ts';
import { filterAttributes } from '../../src/directory/ldap/filter-match.ts';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('DirSync request value (SEQUENCE { flags, maxBytes, cookie })', () => {
  it.each([
    {
      what: 'INCREMENTAL_VALUES | OBJECT_SECURITY as a negative INTEGER, a 3-byte maxBytes, a cookie',
      value: { flags: 0x80000001, maxBytes: 0x100000, cookie: hex('dead') },
      bytes: '30 0f  02 04 80000001  02 03 100000  04 02 dead',
    },
    {
      what: 'OBJECT_SECURITY, the largest maxBytes, no cookie (an empty OCTET STRING)',
      value: { flags: 1, maxBytes: 0x7fffffff, cookie: Buffer.alloc(0) },
      bytes: '30 0b  02 01 01  02 04 7fffffff  04 00',
    },
    {
      what: 'no flags, maxBytes 0',
      value: { flags: 0, maxBytes: 0, cookie: hex('00') },
      bytes: '30 09  02 01 00  02 01 00  04 01 00',
    },
  ])('$what', ({ value, bytes }) => {
    expect(encodeDirSyncRequest(value).toString('hex')).toBe(hex(bytes).toString('hex'));
  });
});

describe('DirSync response value (SEQUENCE { moreResults, unused, cookie })', () => {
  it.each([
    { what: 'more results and a cookie', bytes: '30 0a 02 01 01 02 01 00 04 02 cafe', moreResults: true, cookie: 'cafe' },
    { what: 'done (Samba always sends 0)', bytes: '30 08 02 01 00 02 01 00 04 00', moreResults: false, cookie: '' },
    { what: 'a 4-byte non-zero moreResults', bytes: '30 0d 02 04 00000001 02 01 00 04 02 0102', moreResults: true, cookie: '0102' },
  ])('$what', ({ bytes, moreResults, cookie }) => {
    const value = decodeDirSyncResponse(hex(bytes));
    expect(value.moreResults).toBe(moreResults);
    expect(value.unused).toBe(0);
    expect(value.cookie.toString('hex')).toBe(cookie);
  });

  it('rejects a truncated value', () => {
    expect(() => decodeDirSyncResponse(hex('30 06 02 01 00 02 01 00'))).toThrow(/truncated/);
    expect(() => decodeDirSyncResponse(Buffer.alloc(0))).toThrow(/no value/);
  });
});

describe('DirSyncControl through ldapts', () => {
  it('is written as a critical control of the DirSync OID carrying the request value', () => {
    const control = new DirSyncControl({ flags: 0, maxBytes: 1000, cookie: hex('abcd') });
    const w = new BerWriter();
    control.write(w);
    const r = new BerReader(Buffer.from(w.buffer));
    r.readSequence();
    expect(r.readString()).toBe(DIRSYNC_OID);
    expect(r.readBoolean()).toBe(true);
    expect(Buffer.from(r.readString(Ber.OctetString, true) as Buffer).toString('hex')).toBe(
      encodeDirSyncRequest({ flags: 0, maxBytes: 1000, cookie: hex('abcd') }).toString('hex'),
    );
  });

  it("receives the server's response control of the same OID (ldapts hands unknown OIDs to the request control)", () => {
    const sent = new DirSyncControl({ flags: 0, maxBytes: 1000, cookie: Buffer.alloc(0) });
    // A response control as a server sends it: SEQUENCE { OID, OCTET STRING value }.
    const w = new BerWriter();
    w.startSequence();
    w.writeString(DIRSYNC_OID);
    w.writeBuffer(hex('30 0b 02 01 01 02 01 00 04 03 010203'), Ber.OctetString);
    w.endSequence();
    const parsed = ControlParser.parse(new BerReader(Buffer.from(w.buffer)), [sent]);
    expect(parsed).toBe(sent);
    expect(sent.response?.moreResults).toBe(true);
    expect(sent.response?.cookie.toString('hex')).toBe('010203');
  });
});

describe('the stored DirSync cookie', () => {
  const cookie = {
    server: hex('4d5346540000'),
    invocationId: '0f6e3c5a-1b2c-4d5e-8f90-a1b2c3d4e5f6',
    usn: 12_345_678_901n,
    namingContext: 'DC=gs,DC=test',
    scope: 'abc123',
  };

  it('round-trips', () => {
    const text = encodeDirSyncCookie(cookie);
    expect(text).toMatch(/^dirsync1\.[A-Za-z0-9_-]+$/);
    expect(decodeDirSyncCookie(text)).toEqual(cookie);
  });

  it.each([
    ['another mechanism', 'rid=001,csn=20240101000000.000000Z#000000#000#000000'],
    ['garbage after the prefix', 'dirsync1.!!!not-base64-json'],
    ['a field missing', `dirsync1.${Buffer.from(JSON.stringify({ c: '', i: 'x' })).toString('base64url')}`],
    ['an empty text', ''],
  ])('refuses %s with CookieRejectedError and a reason', (_what, text) => {
    let error: unknown;
    try {
      decodeDirSyncCookie(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CookieRejectedError);
    expect((error as CookieRejectedError).reason).toMatch(/DirSync cookie/);
  });
});

describe('filterAttributes: the attributes a filter tests (a change to one is watched)', () => {
  it.each([
    ['(objectClass=group)', ['objectclass']],
    ['(&(objectCategory=person)(objectClass=user)(department=Sales))', ['objectcategory', 'objectclass', 'department']],
    ['(|(mail=*)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))', ['mail', 'useraccountcontrol']],
    ['(&(cn=gs-*)(!(cn=gs-link-*)))', ['cn']],
    ['(description>=m)', ['description']],
  ])('%s', (filter, attributes) => {
    expect(filterAttributes(FilterParser.parseString(filter))).toEqual(attributes);
  });
});

describe('namingContextOf: DirSync searches the naming context holding the base', () => {
  const contexts = ['DC=gs,DC=test', 'CN=Configuration,DC=gs,DC=test', 'CN=Schema,CN=Configuration,DC=gs,DC=test', 'DC=DomainDnsZones,DC=gs,DC=test'];
  it.each([
    ['DC=gs,DC=test', 'DC=gs,DC=test'],
    ['OU=Staff,DC=gs,DC=test', 'DC=gs,DC=test'],
    ['ou=staff, dc=GS, dc=test', 'DC=gs,DC=test'],
    ['CN=Schema,CN=Configuration,DC=gs,DC=test', 'CN=Schema,CN=Configuration,DC=gs,DC=test'],
    ['CN=MicrosoftDNS,DC=DomainDnsZones,DC=gs,DC=test', 'DC=DomainDnsZones,DC=gs,DC=test'],
  ])('%s → %s', (base, nc) => {
    expect(namingContextOf(base, contexts)).toBe(nc);
  });

  it('refuses a base in none of them, naming them', () => {
    expect(() => namingContextOf('DC=other,DC=example', contexts)).toThrow(/lies in none of the directory's naming contexts \(DC=gs,DC=test; /);
  });
});
