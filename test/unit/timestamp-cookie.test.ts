import { describe, expect, it } from 'vitest';
import { CookieRejectedError } from '../../src/directory/ldap/changes.ts';
import {
  contentHash,
  decodeTimestampCookie,
  encodeTimestampCookie,
  formatGeneralizedTime,
  idsDigest,
  parseGeneralizedTime,
  windowHashes,
} from '../../src/directory/ldap/timestamp-cookie.ts';
import type { RawEntry } from '../../src/directory/ldap/transform.ts';

const entry = (dn: string, attrs: Record<string, string[]>): RawEntry => ({ dn, attrs: new Map(Object.entries(attrs)) });

describe('GeneralizedTime', () => {
  it.each([
    ['20301231235959Z', '2030-12-31T23:59:59.000Z'],
    ['20301231235959.0Z', '2030-12-31T23:59:59.000Z'],
    ['20301231235959.25Z', '2030-12-31T23:59:59.250Z'],
    ['203012312359Z', '2030-12-31T23:59:00.000Z'],
    ['20301231235959+0200', '2030-12-31T21:59:59.000Z'],
    ['20301231235959-05', '2031-01-01T04:59:59.000Z'],
  ])('reads %s', (text, iso) => {
    expect(new Date(parseGeneralizedTime(text)!).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2030-12-31T23:59:59Z', '20301231235959'])('refuses %j', (text) => {
    expect(parseGeneralizedTime(text)).toBeNull();
  });

  it('writes UTC to the second below (a >= filter reaches back, never forward)', () => {
    expect(formatGeneralizedTime(Date.parse('2030-12-31T23:59:59.999Z'))).toBe('20301231235959Z');
    expect(formatGeneralizedTime(-5)).toBe('19700101000000Z');
  });
});

describe('the timestamp cookie', () => {
  const base = { mark: Date.parse('2030-01-02T03:04:05.500Z'), anchor: 'a-1', count: 3, digest: idsDigest(['c', 'a', 'b']), closed: false };

  it('round-trips the window one by one, or as one digest past the cap', () => {
    const pairs = [['a-1', 'h1'], ['b-2', 'h2']] as const;
    const each = decodeTimestampCookie(encodeTimestampCookie({ ...base, window: windowHashes(pairs) }));
    expect(each).toEqual({ ...base, window: { kind: 'each', hashes: new Map(pairs) } });
    const all = decodeTimestampCookie(encodeTimestampCookie({ ...base, window: windowHashes(pairs, 1) }));
    expect(all).toMatchObject({ ...base, window: { kind: 'all', count: 2 } });
    expect(decodeTimestampCookie(encodeTimestampCookie({ ...base, closed: true, window: windowHashes([]) }))).toMatchObject({ closed: true });
  });

  it.each(['rid=000,csn=1', 'mtime1:{', 'mtime1:{"m":"soon","n":1,"d":"x","a":null,"w":[]}', 'mtime1:{"m":"2030-01-01T00:00:00Z","n":1,"d":"x","a":null}'])('refuses %j as malformed', (text) => {
    expect(() => decodeTimestampCookie(text)).toThrow(CookieRejectedError);
    expect(() => decodeTimestampCookie(text)).toThrow(/malformedCookie/);
  });

  it('digests a set of ids whatever their order', () => {
    expect(idsDigest(['b', 'a'])).toBe(idsDigest(['a', 'b']));
    expect(idsDigest(['a', 'b'])).not.toBe(idsDigest(['a', 'c']));
  });

  it('hashes the DN and the tracked attributes only, whatever the order of values', () => {
    const one = entry('uid=a,dc=x', { mail: ['a@x', 'b@x'], cn: ['a'], modifytimestamp: ['20300101000000Z'] });
    const same = entry('uid=a,dc=x', { cn: ['a'], mail: ['b@x', 'a@x'], modifytimestamp: ['20310101000000Z'] });
    const tracked = ['mail', 'CN'];
    expect(contentHash(one, tracked)).toBe(contentHash(same, tracked));
    expect(contentHash(one, tracked)).not.toBe(contentHash(entry('uid=a,dc=x', { mail: ['a@x'], cn: ['a'] }), tracked));
    expect(contentHash(one, tracked)).not.toBe(contentHash(entry('uid=b,dc=x', { mail: ['a@x', 'b@x'], cn: ['a'] }), tracked));
  });
});
