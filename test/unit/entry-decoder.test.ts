import { Ber, BerWriter, Client, MessageParser, type SearchEntry } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { DecodedEntry, enableLeanEntries, leanBufferAttributes, rawEntryOf } from '../../src/directory/ldap/entry-decoder.ts';
import { type RawEntry, toRawEntry } from '../../src/directory/ldap/transform.ts';

type Attribute = readonly [type: string, values: readonly Buffer[]];

/** A SearchResultEntry message as the server sends it. */
function searchEntry(messageId: number, dn: string, attributes: readonly Attribute[]): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x64);
  w.writeString(dn);
  w.startSequence();
  for (const [type, values] of attributes) {
    w.startSequence();
    w.writeString(type);
    w.startSequence(0x31);
    for (const v of values) w.writeBuffer(v, Ber.OctetString);
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

interface Parser {
  read(data: Buffer, details: Map<string, { message: unknown }>): void;
  on(event: 'message', listener: (message: SearchEntry) => void): void;
}

/** Parses `bytes` as answering a search for `attributes`, through `parser`; the entry as the readers get it. */
function parse(parser: Parser, bytes: Buffer, attributes: string[], buffers: string[]): RawEntry {
  let got: SearchEntry | null = null;
  parser.on('message', (m) => (got = m));
  parser.read(bytes, new Map([['7', { message: { controls: [], attributes, explicitBufferAttributes: buffers } }]]));
  return rawEntryOf(got!.toObject(attributes, buffers), toRawEntry);
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const ATTRIBUTES: Attribute[] = [
  ['objectClass', [utf8('top'), utf8('inetOrgPerson')]],
  ['entryUUID', [utf8('5f0c1d2e-0000-4000-8000-000000000001')]],
  ['displayName', [utf8('Zoë Ünal')]],
  ['cn', [Buffer.from([0xef, 0xbb, 0xbf, 0x41, 0x42])]], // a byte-order mark, then AB
  ['description', [utf8('valid'), Buffer.from([0x61, 0xff, 0x62])]], // one value not UTF-8
  ['userCertificate;binary', [utf8('plain bytes')]],
  ['objectGUID', [Buffer.from('00112233445566778899aabbccddeeff', 'hex')]],
  ['member;range=0-1', [utf8('uid=a,dc=x'), utf8('UID=B, DC=X')]],
  ['emptyOne', []],
];
const REQUESTED = ['objectClass', 'entryUUID', 'displayName', 'cn', 'description', 'mail', 'member', 'objectGUID'];

describe('search entries decoded once (entry-decoder.ts)', () => {
  it('gives the entry ldapts and toRawEntry give: strings, bytes, a byte-order mark, missing and empty attributes, ranged names', () => {
    const bytes = searchEntry(7, 'uid=zoë,ou=people,dc=example,dc=org', ATTRIBUTES);
    const client = new Client({ url: 'ldap://127.0.0.1:1' });
    enableLeanEntries(client);
    const lean = parse((client as unknown as { messageParser: Parser }).messageParser, bytes, REQUESTED, leanBufferAttributes(['objectGUID']));
    const plain = parse(new MessageParser() as unknown as Parser, bytes, REQUESTED, ['objectGUID']);
    expect(lean).toBeInstanceOf(DecodedEntry);
    expect(lean.dn).toBe(plain.dn);
    expect([...lean.attrs.entries()]).toEqual([...plain.attrs.entries()]);
    // The cases worth naming, as ldapts gives them.
    expect(lean.attrs.get('cn')).toEqual(['AB']);
    expect(lean.attrs.get('description')).toEqual([utf8('valid'), Buffer.from([0x61, 0xff, 0x62])]);
    expect(lean.attrs.get('mail')).toEqual([]);
    expect(lean.attrs.get('usercertificate;binary')).toEqual([utf8('plain bytes')]);
  });

  it('leaves searches it was not asked to decode to ldapts', () => {
    const bytes = searchEntry(7, 'cn=x,dc=org', [['cn', [utf8('x')]]]);
    const client = new Client({ url: 'ldap://127.0.0.1:1' });
    enableLeanEntries(client);
    const parser = (client as unknown as { messageParser: Parser }).messageParser;
    let got: SearchEntry | null = null;
    parser.on('message', (m) => (got = m));
    parser.read(bytes, new Map([['7', { message: { controls: [], attributes: ['cn'], explicitBufferAttributes: [] } }]]));
    expect(got!.toObject(['cn'], [])).toEqual({ dn: 'cn=x,dc=org', cn: 'x' });
  });
});
