import { gunzipSync } from 'node:zlib';
import { FilterParser } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { cacheAccess } from '../../src/directory/ldap/cache-access.ts';
import type { EntryChanges } from '../../src/directory/ldap/changes.ts';
import { IntList, Reader, TableBuilder, Writer } from '../../src/directory/ldap/codec.ts';
import { EntryCacheBuilder } from '../../src/directory/ldap/entry-cache-builder.ts';
import { EntryCache } from '../../src/directory/ldap/entry-cache.ts';
import { FilterNotEvaluableError, assertEvaluable, matchFilter } from '../../src/directory/ldap/filter-match.ts';
import type { RawEntry } from '../../src/directory/ldap/transform.ts';
import { toEntryChanges } from '../../src/directory/ldap/syncrepl.ts';

const entry = (dn: string, attrs: Record<string, (string | Buffer)[]>): RawEntry => ({ dn, attrs: new Map(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), v])) });
const ann = entry('uid=ann,ou=people,dc=x', { objectClass: ['inetOrgPerson'], uid: ['ann'], cn: ['Ann  Smith '], mail: ['Ann@X.org'], uidNumber: ['1001'], entryUUID: ['a'] });
const team = entry('cn=team,ou=groups,dc=x', { objectClass: ['groupOfNames'], cn: ['team'], member: ['UID=Ann, OU=People,DC=x'], entryUUID: ['t'] });

describe('matchFilter', () => {
  it.each([
    ['(objectClass=person)', ann, true], // a superclass of inetOrgPerson
    ['(objectClass=INETORGPERSON)', ann, true],
    ['(objectClass=groupOfNames)', ann, false],
    ['(cn=ann smith)', ann, true], // caseIgnoreMatch folds case and spaces
    ['(cn=ann*)', ann, true],
    ['(cn=*smi*)', ann, true],
    ['(cn=*jones)', ann, false],
    ['(mail=ann@x.ORG)', ann, true],
    ['(uidNumber=01001)', ann, true], // integerMatch
    ['(uidNumber>=1000)', ann, true],
    ['(uidNumber<=999)', ann, false],
    ['(description=*)', ann, false],
    ['(!(description=*))', ann, true],
    ['(member=uid=ann,ou=people,dc=x)', team, true], // distinguishedNameMatch
    ['(&(objectClass=groupOfNames)(|(cn=team)(cn=other)))', team, true],
    ['(objectCategory=person)', entry('cn=p,dc=x', { objectCategory: ['CN=Person,CN=Schema,CN=Configuration,DC=x'] }), true],
  ])('%s', (filter, e, expected) => {
    expect(matchFilter(FilterParser.parseString(filter), e)).toBe(expected);
  });

  it.each(['(cn~=ann)', '(cn:caseExactMatch:=Ann)', '(member=uid=a*)'])('refuses %s (the server must decide)', (filter) => {
    expect(() => assertEvaluable(FilterParser.parseString(filter))).toThrow(FilterNotEvaluableError);
  });
});

const idOf = (e: RawEntry) => String(e.attrs.get('entryuuid')?.[0] ?? '') || null;
const changes = (over: Partial<EntryChanges>): EntryChanges => ({ kind: 'delta', entries: [], partial: false, deletedIds: [], presentIds: null, cookie: 'c', ...over });

describe('EntryCache', () => {
  const filled = () => {
    const cache = new EntryCache();
    cache.apply(changes({ kind: 'refresh', entries: [ann, team] }), idOf);
    return cache;
  };

  it.each([
    ['a refresh replaces everything', changes({ kind: 'refresh', entries: [team] }), ['t'], { changed: 1, deleted: 1 }],
    ['a delta merges', changes({ entries: [entry('uid=bob,dc=x', { entryUUID: ['b'] })] }), ['a', 't', 'b'], { changed: 1, deleted: 0 }],
    ['deletedIds remove', changes({ deletedIds: ['a', 'zz'] }), ['t'], { changed: 0, deleted: 1 }],
    ['presentIds keep only those listed or changed', changes({ presentIds: ['t'], entries: [entry('uid=bob,dc=x', { entryUUID: ['b'] })] }), ['t', 'b'], { changed: 1, deleted: 1 }],
  ])('%s', (_name, change, ids, counts) => {
    const cache = filled();
    expect(cache.apply(change, idOf)).toEqual(counts);
    expect([...cache.values()].map((c) => c.id)).toEqual(ids);
  });

  it('merges a partial entry attribute by attribute, and follows a rename in the DN index', () => {
    const cache = filled();
    cache.apply(changes({ partial: true, entries: [entry('uid=ann2,ou=people,dc=x', { entryUUID: ['a'], mail: ['new@x.org'] })] }), idOf);
    const got = cache.get('a')!.entry;
    expect(got.attrs.get('mail')).toEqual(['new@x.org']);
    expect(got.attrs.get('uid')).toEqual(['ann']);
    expect(cache.atKey('uid=ann2,ou=people,dc=x')?.id).toBe('a');
    expect(cache.atKey('uid=ann,ou=people,dc=x')).toBeUndefined();
  });

  it('encodes and decodes to the same entries, member values that are DNs of cached entries included', () => {
    const cache = filled();
    cache.apply(changes({ entries: [entry('cn=b,dc=x', { entryUUID: ['g'], member: [ann.dn, 'cn=elsewhere', Buffer.from([0, 1, 2])] })] }), idOf);
    const back = EntryCache.decode(cache.encode())!;
    expect(back.countDifferences(cache)).toBe(0);
    expect(back.get('g')!.entry.attrs.get('member')).toEqual([ann.dn, 'cn=elsewhere', Buffer.from([0, 1, 2])]);
    expect(EntryCache.decode(new Uint8Array([1, 2, 3]))).toBeNull();
  });

  it('built column by column, holds the same entries as one filled entry by entry, and writes them alike', async () => {
    const odd = entry('cn=Odd\\, One+uid=o,ou=groups,dc=x', { objectClass: ['groupOfNames'], member: [ann.dn, team.dn, Buffer.from([0, 255])], entryUUID: ['o'] });
    const builder = new EntryCacheBuilder(['member']);
    for (const e of [ann, team, odd]) builder.add(e.attrs.get('entryuuid')![0] as string, e);
    const built = builder.build();
    const filledAlike = new EntryCache();
    filledAlike.apply(changes({ kind: 'refresh', entries: [ann, team, odd] }), idOf);
    expect(built.countDifferences(filledAlike)).toBe(0);
    expect(built.atKey(filledAlike.get('o')!.key!)?.id).toBe('o');
    expect(filledAlike.get('o')!.key).not.toBeNull();
    expect(built.get('o')!.key).toBe(filledAlike.get('o')!.key);
    const back = EntryCache.decode(built.encode())!;
    expect(back.countDifferences(filledAlike)).toBe(0);
    expect([...back.values()].map((c) => [c.id, c.key])).toEqual([...filledAlike.values()].map((c) => [c.id, c.key]));
    expect(back.get('o')!.entry.attrs.get('member')).toEqual([ann.dn, team.dn, Buffer.from([0, 255])]);
  });

  it('counts differing entries, leaving out those it is told to ignore', () => {
    const a = filled();
    const b = filled();
    b.apply(changes({ entries: [entry(ann.dn, { ...Object.fromEntries(ann.attrs), mail: ['other@x.org'] })], deletedIds: ['t'] }), idOf);
    expect(a.countDifferences(b)).toBe(2);
    expect(a.countDifferences(b, new Set(['t']))).toBe(1);
  });
});

describe('the state container', () => {
  it('gzipped piece by piece, reads back as the whole container: a string table of several pieces, odd lengths, unaligned sections', async () => {
    const w = new Writer();
    const strings = Array.from({ length: 60_000 }, (_, k) => `uid=user${k},ou=people,dc=x é😀${'x'.repeat(k % 7)}`);
    strings[100] = 'y'.repeat(300_000);
    strings[101] = '\udc80 lone';
    const list = new IntList();
    for (const s of strings) list.push(w.str(s), k(s));
    w.str(null);
    w.ints(list.view());
    w.json({ odd: 'é' });
    w.ints([7, -1]);
    const whole = w.finish();
    const streamed = gunzipSync(await w.gzip());
    expect(Buffer.from(streamed).equals(Buffer.from(whole))).toBe(true);
    const r = new Reader(streamed);
    const ints = r.ints();
    expect(ints.length).toBe(120_000);
    expect(r.str(ints[2 * 59_999]!)).toBe(strings[59_999]);
    expect(r.json()).toEqual({ odd: 'é' });
    expect([...r.ints()]).toEqual([7, -1]);
  });

  it('takes a built string table whole, its indexes kept, and strings added after it follow', async () => {
    const table = new TableBuilder();
    // One byte a character until the first string that needs two (then the table is widened).
    const strings = Array.from({ length: 50_000 }, (_, k) => (k < 40_000 ? `cn=g${k},dc=x é\u00ff` : `cn=g${k},dc=x 😀`));
    const at = strings.map((s) => table.add(s));
    const w = new Writer();
    expect(w.adopt(table.finish())).toBe(true);
    const more = w.str('after');
    w.ints([at[0]!, at[49_999]!, more]);
    const r = new Reader(gunzipSync(await w.gzip()));
    expect([...r.ints()].map((i) => r.str(i))).toEqual([strings[0], strings[49_999], 'after']);
    const narrow = new TableBuilder();
    const at2 = narrow.add('é\u00ff');
    expect(narrow.finish().str(at2)).toBe('é\u00ff');
    expect(Buffer.from(new Reader(w.finish()).str(more)!)).toEqual(Buffer.from('after'));
    expect(new Writer().adopt(new Reader(w.finish()))).toBe(false);
  });
});

const k = (s: string) => s.length;

describe('cacheAccess', () => {
  it('searches a subtree with a filter and reads by normalised DN', async () => {
    const access = cacheAccess(EntryCache.decode(new EntryCache().encode())!);
    expect(await access.readEntry('uid=nobody,dc=x', [])).toBeNull();
    const cache = new EntryCache();
    cache.apply(changes({ kind: 'refresh', entries: [ann, team] }), idOf);
    const found: RawEntry[] = [];
    for await (const page of cacheAccess(cache).search('OU=People, DC=x', '(objectClass=person)', [])) found.push(...page);
    expect(found.map((e) => e.dn)).toEqual([ann.dn]);
    expect((await cacheAccess(cache).readEntry('UID=ANN,ou=people,dc=X', []))?.dn).toBe(ann.dn);
  });
});

describe('toEntryChanges (RFC 4533 messages)', () => {
  const e = { dn: 'uid=a,dc=x', uid: 'a' };
  it.each([
    ['a refresh without a cookie', null, true, { kind: 'refresh', presentIds: null, deletedIds: ['d1'] }],
    ['deletions named (refreshDeletes)', 'c0', true, { kind: 'delta', presentIds: null, deletedIds: ['d1'] }],
    ['a present phase', 'c0', false, { kind: 'delta', presentIds: ['u1', 'p1'], deletedIds: ['d1'] }],
  ] as const)('%s', (_name, cookie, refreshDeletes, expected) => {
    const got = toEntryChanges(
      [
        { type: 'entry', state: 'add', uuid: 'u1', entry: e },
        { type: 'idSet', refreshDeletes: !refreshDeletes ? false : true, uuids: refreshDeletes ? ['d1'] : ['p1'] },
        ...(refreshDeletes ? [] : [{ type: 'entry' as const, state: 'delete' as const, uuid: 'd1', entry: e }]),
      ],
      { cookie: 'c1', refreshDeletes },
      { cookie, idAttribute: 'entryUUID' },
    );
    expect(got).toMatchObject({ ...expected, cookie: 'c1' });
    expect(got.entries[0]!.attrs.get('entryuuid')).toEqual(['u1']);
  });
});
