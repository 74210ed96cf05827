/** The entries of a DirSync answer, made to look as a plain search shows them. */
import { firstRdnValue, parseDn } from './dn.ts';
import { type RawEntry, type RawValue, decodeObjectGuid } from './transform.ts';

/** The id attribute DirSync entries are keyed by. */
export const ID = 'objectGUID';

export function guidOf(entry: RawEntry): string | null {
  const value = entry.attrs.get('objectguid')?.[0];
  return Buffer.isBuffer(value) && value.length === 16 ? decodeObjectGuid(value) : null;
}

export function isTombstone(entry: RawEntry): boolean {
  const value = entry.attrs.get('isdeleted')?.[0];
  return value !== undefined && String(value).toUpperCase() === 'TRUE';
}

/** DirSync leaves out the naming attribute of the RDN (`cn` of `CN=x,…`): its value is the RDN's. */
export function withRdnAttribute(entry: RawEntry, requested: readonly string[]): RawEntry {
  let type: string | undefined;
  try {
    type = parseDn(entry.dn)[0]?.[0]?.type.toLowerCase();
  } catch {
    return entry;
  }
  const value = firstRdnValue(entry.dn);
  if (!type || value === null || !requested.some((a) => a.toLowerCase() === type)) return entry;
  if ((entry.attrs.get(type)?.length ?? 0) > 0) return entry;
  const attrs = new Map(entry.attrs);
  attrs.set(type, [value]);
  return { dn: entry.dn, attrs };
}

/** `<GUID=…>;<SID=…>;` prefixes of DN values in DirSync answers (objectCategory): a plain search shows the DN alone. */
const EXTENDED_DN = /^(?:<[A-Za-z]+=[^>]*>;)+/;

/** DN values as a plain search shows them, so that a refresh and a later read of the same entry agree. */
export function plainDns(entry: RawEntry): RawEntry {
  let changed = false;
  const attrs = new Map<string, readonly RawValue[]>();
  for (const [name, values] of entry.attrs) {
    attrs.set(
      name,
      values.map((v) => {
        if (typeof v !== 'string' || !EXTENDED_DN.test(v)) return v;
        changed = true;
        return v.replace(EXTENDED_DN, '');
      }),
    );
  }
  return changed ? { dn: entry.dn, attrs } : entry;
}

/** The attributes asked for and the id; not those DirSync adds (instanceType, parentGUID) or the tracker asks for itself (isDeleted). */
export function requestedOnly(entry: RawEntry, requested: readonly string[]): RawEntry {
  const keep = new Set([...requested.map((a) => a.toLowerCase()), ID.toLowerCase()]);
  if ([...entry.attrs.keys()].every((k) => keep.has(k))) return entry;
  const attrs = new Map([...entry.attrs].filter(([k]) => keep.has(k)));
  return { dn: entry.dn, attrs };
}
