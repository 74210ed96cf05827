/** Full collections during long reads (src/memory.ts): when they happen, and what a page counts. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { valuesIn } from '../../src/directory/ldap/read.ts';
import { DecodedEntry } from '../../src/directory/ldap/entry-decoder.ts';
import { CollectionPace, collectGarbage } from '../../src/memory.ts';

const host = globalThis as { gc?: () => void };
let given: (() => void) | undefined;
let collections = 0;
beforeEach(() => {
  given = host.gc;
  collections = 0;
  host.gc = () => void collections++;
});
afterEach(() => {
  if (given) host.gc = given;
  else delete host.gc;
});

describe('CollectionPace', () => {
  it('collects once `first` values were read, then each time `growth` times as many were read again as before the last collection', () => {
    const pace = new CollectionPace(100, 1);
    const after = (values: number) => {
      pace.read(values);
      return collections;
    };
    // 100 read: the first; 100 more (200): the second; 200 more (400): the third; then 400 more.
    expect([after(60), after(39), after(1), after(99), after(1), after(150), after(49), after(1), after(399), after(1)]).toEqual([0, 0, 1, 1, 2, 2, 2, 3, 3, 4]);
  });

  it.each([
    { growth: 1, counts: [2, 6, 9] },
    { growth: 0.25, counts: [3, 14, 24] },
    { growth: 0, counts: [3, 37, 375] },
  ])('collects log-many times over a read of any size at a growth of $growth ($counts for 1.5, 15 and 150 million values)', ({ growth, counts }) => {
    const got = [1_500_000, 15_000_000, 150_000_000].map((values) => {
      collections = 0;
      const pace = new CollectionPace(400_000, growth);
      for (let read = 0; read < values; read += 1000) pace.read(1000);
      return collections;
    });
    expect(got).toEqual(counts);
  });

  it('does nothing where the process runs without --expose-gc', () => {
    delete host.gc;
    expect(() => {
      collectGarbage();
      new CollectionPace(1, 1).read(5);
    }).not.toThrow();
    expect(collections).toBe(0);
  });
});

describe('valuesIn (what an LDAP page decoded)', () => {
  it('counts every value of every attribute of every entry, none for an attribute asked for and not sent', () => {
    const page = [
      new DecodedEntry('cn=a,dc=x', new Map([['cn', ['a']], ['member', ['uid=1,dc=x', 'uid=2,dc=x', 'uid=3,dc=x']], ['description', []]])),
      new DecodedEntry('uid=1,dc=x', new Map([['uid', ['1']], ['mail', ['one@x.org', 'uno@x.org']], ['objectguid', [Buffer.from([1, 2])]]])),
    ];
    expect(valuesIn(page)).toBe(8);
    expect(valuesIn([])).toBe(0);
  });
});
