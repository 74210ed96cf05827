/**
 * Evaluates an LDAP filter against a cached entry the way the directory server does, for the
 * matching rules of the attributes groupsync filters on, so that a search of the entry cache
 * returns what the server would:
 * - objectClass: case-insensitive, and an entry of a class is also of its superclasses (the
 *   server matches `(objectClass=person)` on an entry that lists only inetOrgPerson);
 * - objectCategory (Active Directory): a class name matches the category DN it names;
 * - DN-valued attributes (member, uniqueMember, memberOf, manager…): distinguishedNameMatch
 *   (normalised DNs);
 * - integers (uidNumber, gidNumber, userAccountControl…): integerMatch and ordering;
 * - everything else: caseIgnoreMatch (case folded, leading/trailing spaces dropped, inner runs
 *   of spaces folded to one), substrings and ordering on the same form.
 * Anything else (approximate and extensible matches, a binary assertion) throws
 * FilterNotEvaluableError: the caller reads from the server instead.
 */
import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  FilterParser,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
} from 'ldapts';
import { normalizeDn } from './dn.ts';
import type { RawEntry, RawValue } from './transform.ts';

export class FilterNotEvaluableError extends Error {
  constructor(filter: string) {
    super(`the filter ${filter} cannot be evaluated on cached entries`);
    this.name = 'FilterNotEvaluableError';
  }
}

/** Superclasses of the standard structural classes (RFC 4519, 2798, 2307bis; AD). */
const SUPERCLASSES: Readonly<Record<string, readonly string[]>> = {
  person: ['top'],
  organizationalperson: ['person', 'top'],
  inetorgperson: ['organizationalperson', 'person', 'top'],
  residentialperson: ['person', 'top'],
  user: ['organizationalperson', 'person', 'top'],
  computer: ['user', 'organizationalperson', 'person', 'top'],
  inetuser: ['top'],
};

const DN_ATTRIBUTES = new Set(['member', 'uniquemember', 'memberof', 'manager', 'owner', 'seealso', 'secretary', 'distinguishedname', 'creatorsname', 'modifiersname']);
const INTEGER_ATTRIBUTES = new Set(['uidnumber', 'gidnumber', 'useraccountcontrol', 'grouptype', 'samaccounttype', 'primarygroupid', 'employeenumber']);

const text = (v: RawValue): string => (typeof v === 'string' ? v : v.toString('utf8'));
/** caseIgnoreMatch's prepared form. */
const fold = (v: string): string => v.trim().replace(/\s+/g, ' ').toLowerCase();

function classesOf(entry: RawEntry): Set<string> {
  const out = new Set<string>();
  for (const v of entry.attrs.get('objectclass') ?? []) {
    const c = text(v).trim().toLowerCase();
    out.add(c);
    for (const s of SUPERCLASSES[c] ?? []) out.add(s);
  }
  return out;
}

function normalizedDn(value: string): string | null {
  try {
    return normalizeDn(value);
  } catch {
    return null;
  }
}

function integer(value: string): bigint | null {
  return /^\s*-?\d+\s*$/.test(value) ? BigInt(value.trim()) : null;
}

function equals(attribute: string, stored: string, asserted: string): boolean {
  if (DN_ATTRIBUTES.has(attribute)) {
    const a = normalizedDn(asserted);
    return a !== null && normalizedDn(stored) === a;
  }
  if (attribute === 'objectcategory' && !asserted.includes('=')) {
    // AD maps a class name to its default category: `CN=Person,CN=Schema,…` for `person`.
    const rdn = /^\s*cn\s*=\s*([^,]+)/i.exec(stored);
    return rdn !== null && fold(rdn[1]!) === fold(asserted);
  }
  if (INTEGER_ATTRIBUTES.has(attribute)) {
    const a = integer(asserted);
    return a !== null && integer(stored) === a;
  }
  return fold(stored) === fold(asserted);
}

function ordered(attribute: string, stored: string, asserted: string): number {
  if (INTEGER_ATTRIBUTES.has(attribute)) {
    const a = integer(asserted);
    const s = integer(stored);
    if (a === null || s === null) return Number.NaN;
    return s < a ? -1 : s > a ? 1 : 0;
  }
  const s = fold(stored);
  const a = fold(asserted);
  return s < a ? -1 : s > a ? 1 : 0;
}

function substrings(stored: string, f: SubstringFilter): boolean {
  let rest = fold(stored);
  const initial = f.initial ? fold(f.initial) : '';
  if (initial) {
    if (!rest.startsWith(initial)) return false;
    rest = rest.slice(initial.length);
  }
  for (const any of f.any) {
    const part = fold(any);
    const at = rest.indexOf(part);
    if (at < 0) return false;
    rest = rest.slice(at + part.length);
  }
  const final = f.final ? fold(f.final) : '';
  return !final || rest.endsWith(final);
}

function values(entry: RawEntry, attribute: string): string[] {
  return (entry.attrs.get(attribute) ?? []).map(text);
}

/** True when `entry` matches `filter`, as the server would decide. */
export function matchFilter(filter: Filter, entry: RawEntry): boolean {
  if (filter instanceof AndFilter) return filter.filters.every((f) => matchFilter(f, entry));
  if (filter instanceof OrFilter) return filter.filters.some((f) => matchFilter(f, entry));
  if (filter instanceof NotFilter) return !matchFilter(filter.filter, entry);
  if (filter instanceof PresenceFilter) {
    const attribute = filter.attribute.toLowerCase();
    return attribute === 'objectclass' || (entry.attrs.get(attribute)?.length ?? 0) > 0;
  }
  if (filter instanceof EqualityFilter) {
    if (Buffer.isBuffer(filter.value)) throw new FilterNotEvaluableError(filter.toString());
    const attribute = filter.attribute.toLowerCase();
    const asserted = filter.value;
    if (attribute === 'objectclass') return classesOf(entry).has(asserted.trim().toLowerCase());
    return values(entry, attribute).some((v) => equals(attribute, v, asserted));
  }
  if (filter instanceof SubstringFilter) {
    const attribute = filter.attribute.toLowerCase();
    if (DN_ATTRIBUTES.has(attribute)) throw new FilterNotEvaluableError(filter.toString());
    return values(entry, attribute).some((v) => substrings(v, filter));
  }
  if (filter instanceof GreaterThanEqualsFilter || filter instanceof LessThanEqualsFilter) {
    const attribute = filter.attribute.toLowerCase();
    if (DN_ATTRIBUTES.has(attribute) || attribute === 'objectclass') throw new FilterNotEvaluableError(filter.toString());
    const sign = filter instanceof GreaterThanEqualsFilter ? 1 : -1;
    return values(entry, attribute).some((v) => {
      const c = ordered(attribute, v, filter.value);
      return !Number.isNaN(c) && c * sign >= 0;
    });
  }
  if (filter instanceof ApproximateFilter || filter instanceof ExtensibleFilter) throw new FilterNotEvaluableError(filter.toString());
  throw new FilterNotEvaluableError(String(filter));
}

/** Attribute names (lower case) a filter tests, so the cache can keep them. */
export function filterAttributes(filter: Filter | string): string[] {
  const parsed = typeof filter === 'string' ? FilterParser.parseString(filter) : filter;
  const out = new Set<string>();
  const walk = (f: Filter): void => {
    if (f instanceof AndFilter || f instanceof OrFilter) f.filters.forEach(walk);
    else if (f instanceof NotFilter) walk(f.filter);
    else if (f instanceof ExtensibleFilter) {
      if (f.matchType) out.add(f.matchType.toLowerCase());
    } else if ('attribute' in f && typeof f.attribute === 'string') out.add(f.attribute.toLowerCase());
  };
  walk(parsed);
  return [...out];
}

/** Whether every part of `filter` can be evaluated on cached entries (else the server answers it). */
export function isEvaluable(filter: Filter): boolean {
  try {
    assertEvaluable(filter);
    return true;
  } catch (error) {
    if (error instanceof FilterNotEvaluableError) return false;
    throw error;
  }
}

/** Throws FilterNotEvaluableError when some part of `filter` cannot be evaluated on cached entries. */
export function assertEvaluable(filter: Filter): void {
  if (filter instanceof AndFilter || filter instanceof OrFilter) return filter.filters.forEach(assertEvaluable);
  if (filter instanceof NotFilter) return assertEvaluable(filter.filter);
  if (filter instanceof PresenceFilter) return;
  if (filter instanceof EqualityFilter) {
    if (Buffer.isBuffer(filter.value)) throw new FilterNotEvaluableError(filter.toString());
    return;
  }
  const attribute = 'attribute' in filter && typeof filter.attribute === 'string' ? filter.attribute.toLowerCase() : '';
  if (filter instanceof SubstringFilter && !DN_ATTRIBUTES.has(attribute)) return;
  if ((filter instanceof GreaterThanEqualsFilter || filter instanceof LessThanEqualsFilter) && !DN_ATTRIBUTES.has(attribute) && attribute !== 'objectclass') return;
  throw new FilterNotEvaluableError(filter.toString());
}
