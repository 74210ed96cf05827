import { BerReader, BerWriter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { ValueInterner } from '../../src/directory/ldap/value-interner.ts';
import { ScopeGraph } from '../../src/directory/ldap/read/graph.ts';

/** OCTET STRINGs one after the other, as a set of attribute values lies in a message. */
function octets(values: readonly (string | Buffer)[]): Buffer {
  const w = new BerWriter();
  for (const v of values) w.writeBuffer(typeof v === 'string' ? Buffer.from(v, 'utf8') : v, 0x04);
  return w.buffer;
}

/** Every value read through the interner: its number (-1: not interned, then skipped with readString). */
function readAll(interner: ValueInterner, bytes: Buffer): number[] {
  const reader = new BerReader(bytes);
  const out: number[] = [];
  while (reader.offset < bytes.length) {
    const id = interner.read(reader);
    out.push(id);
    if (id < 0) reader.readString(0x04, true);
  }
  return out;
}

describe('repeated values interned from their bytes (value-interner.ts)', () => {
  it('gives one number and one string per distinct value, the string decoding gives', () => {
    const interner = new ValueInterner();
    const values = ['uid=a,dc=x', 'uid=b,dc=x', 'uid=a,dc=x', 'UID=A,DC=X', '', 'uid=b,dc=x'];
    const ids = readAll(interner, octets(values));
    expect(ids).toEqual([0, 1, 0, 2, 3, 1]);
    expect(ids.map((id) => interner.string(id))).toEqual(values);
    expect(interner.size).toBe(4);
  });

  it.each([
    ['a value with a non-ASCII character', 'cn=Zoë,dc=x'],
    ['a value that is not UTF-8', Buffer.from([0x63, 0x6e, 0x3d, 0xff])],
    ['a value after a byte-order mark', Buffer.from([0xef, 0xbb, 0xbf, 0x41])],
  ])('leaves %s to the decoder, the reader where it was', (_name, value) => {
    const interner = new ValueInterner();
    const reader = new BerReader(octets([value]));
    expect(interner.read(reader)).toBe(-1);
    expect(reader.offset).toBe(0);
    expect(interner.size).toBe(0);
  });

  it('refuses a value cut short by the end of the buffer, and another tag', () => {
    const interner = new ValueInterner();
    const whole = octets(['uid=a,dc=x']);
    expect(interner.read(new BerReader(whole.subarray(0, whole.length - 1)))).toBe(-1);
    expect(interner.read(new BerReader(Buffer.from([0x30, 0x00])))).toBe(-1);
  });

  it('keeps every number right while its table grows (200,000 values, each met twice)', () => {
    const interner = new ValueInterner();
    const values = Array.from({ length: 200_000 }, (_, i) => `uid=user${i},ou=people,dc=example,dc=org`);
    const first = readAll(interner, octets(values));
    const again = readAll(interner, octets([...values].reverse()));
    expect(first).toEqual(values.map((_, i) => i));
    expect(again).toEqual(values.map((_, i) => values.length - 1 - i));
    expect(interner.size).toBe(values.length);
  });
});

describe('numbered values in the scope graph', () => {
  it('gives a numbered value the node its spelling has, and does not mix the numbers of two interners', () => {
    const g = new ScopeGraph();
    const first = new ValueInterner();
    const second = new ValueInterner();
    const [a] = readAll(first, octets(['uid=a,dc=x']));
    const [b] = readAll(second, octets(['uid=b,dc=x']));
    expect([a, b]).toEqual([0, 0]);
    const nodeA = g.internNumbered(first, a!, 'uid=a,dc=x');
    expect(g.internNumbered(first, a!, 'uid=a,dc=x')).toBe(nodeA);
    expect(g.internMember('UID=A, DC=X')).toBe(nodeA);
    // The second interner's number 0 is another value: it is looked up by its spelling.
    const nodeB = g.internNumbered(second, b!, 'uid=b,dc=x');
    expect(nodeB).not.toBe(nodeA);
    expect(g.nodeKey[nodeB]).toBe('uid=b,dc=x');
    expect(g.spelledNumbered(second, b!, 'uid=b,dc=x')).toBe(nodeB);
    expect(g.spelledNumbered(first, a!, 'uid=a,dc=x')).toBe(nodeA);
    expect(g.spelledNumbered(first, 5, 'uid=nobody,dc=x')).toBeUndefined();
  });
});
