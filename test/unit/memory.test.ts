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
  it('collects each time another `every` values were read, counting across pages', () => {
    const pace = new CollectionPace(100);
    const after = (values: number) => {
      pace.read(values);
      return collections;
    };
    expect([after(60), after(39), after(1), after(250), after(99), after(1)]).toEqual([0, 0, 1, 2, 2, 3]);
  });

  it('does nothing where the process runs without --expose-gc', () => {
    delete host.gc;
    expect(() => {
      collectGarbage();
      new CollectionPace(1).read(5);
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
