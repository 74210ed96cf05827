/**
 * A directory served from an LDIF file, through the same reader as LDAP. It backs the sample
 * directory a newcomer can sync right away, and offline exports. Filters are parsed by ldapts
 * and evaluated per value, so multi-valued attributes (objectClass) match as on a server.
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import { AndFilter, type Filter, FilterParser, NotFilter, OrFilter, SubstringFilter } from 'ldapts';
import type {
  DirectoryGroupRef,
  DirectorySnapshot,
  DirectorySource,
  ReadProgress,
  ReadScope,
} from '../../domain/types.ts';
import { GroupsyncError } from '../../errors.ts';
import { toGroupRef } from '../ldap/client.ts';
import { isUnder, normalizeDn } from '../ldap/dn.ts';
import { findMemberPath } from '../ldap/member-path.ts';
import { type EntryAccess, findGroupEntries, readScope, type ReadLayout } from '../ldap/read.ts';
import type { RawEntry, RawValue } from '../ldap/transform.ts';
import { type AttributeOverrides, resolveProfile } from '../ldap/vendors.ts';

/** Parses LDIF content records (RFC 2849): folded lines, `::` base64 values, comments. */
export function parseLdif(text: string): RawEntry[] {
  const out: RawEntry[] = [];
  const unfolded = text.replace(/\r\n/g, '\n').replace(/\n /g, '');
  for (const block of unfolded.split(/\n\s*\n/)) {
    let dn: string | null = null;
    const attrs = new Map<string, RawValue[]>();
    for (const line of block.split('\n')) {
      if (!line || line.startsWith('#') || line.startsWith('version:')) continue;
      const m = /^([A-Za-z0-9;.-]+)(::?|:<)\s*(.*)$/.exec(line);
      if (!m) throw new GroupsyncError('DIRECTORY_READ_FAILED', `LDIF line is not "attribute: value": ${line.slice(0, 80)}`);
      const [, name, sep, raw] = m;
      // A base64 value that is not UTF-8 stays bytes, as ldapts hands it over.
      const bytes = sep === '::' ? Buffer.from(raw!, 'base64') : null;
      const value: RawValue = bytes === null ? raw! : isUtf8(bytes) ? bytes.toString('utf8') : bytes;
      if (name!.toLowerCase() === 'dn') {
        dn = typeof value === 'string' ? value : value.toString('utf8');
        continue;
      }
      const key = name!.toLowerCase();
      const list = attrs.get(key) ?? [];
      list.push(value);
      attrs.set(key, list);
    }
    if (dn !== null) out.push({ dn, attrs });
  }
  return out;
}

function matches(filter: Filter, entry: RawEntry): boolean {
  if (filter instanceof AndFilter) return filter.filters.every((f) => matches(f, entry));
  if (filter instanceof OrFilter) return filter.filters.some((f) => matches(f, entry));
  if (filter instanceof NotFilter) return !matches(filter.filter, entry);
  const attribute = (filter as unknown as { attribute?: string }).attribute;
  if (!attribute) return false;
  const values = entry.attrs.get(attribute.toLowerCase());
  if (!values) return false;
  if (filter instanceof SubstringFilter) return values.some((v) => substringMatches(filter, String(v)));
  return values.some((v) => filter.matches({ [attribute]: typeof v === 'string' ? v : v.toString('utf8') }));
}

/** caseIgnoreSubstringsMatch: initial*any*…*final, in order, ignoring case. */
function substringMatches(filter: SubstringFilter, value: string): boolean {
  const text = value.toLowerCase();
  let at = 0;
  if (filter.initial) {
    if (!text.startsWith(filter.initial.toLowerCase())) return false;
    at = filter.initial.length;
  }
  for (const part of filter.any ?? []) {
    const found = text.indexOf(part.toLowerCase(), at);
    if (found < 0) return false;
    at = found + part.length;
  }
  if (filter.final) return text.length - filter.final.length >= at && text.endsWith(filter.final.toLowerCase());
  return true;
}

export interface LdifSourceOptions {
  readonly file: string;
  readonly attributes: AttributeOverrides;
}

export class LdifSource implements DirectorySource {
  readonly kind = 'ldap' as const;
  readonly #file: string;
  readonly #overrides: AttributeOverrides;
  #cache: { mtimeMs: number; entries: RawEntry[]; byDn: Map<string, RawEntry> } | null = null;

  constructor(options: LdifSourceOptions) {
    this.#file = options.file;
    this.#overrides = options.attributes;
  }

  #load() {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.#file).mtimeMs;
    } catch (error) {
      throw new GroupsyncError('DIRECTORY_UNREACHABLE', `cannot read ${this.#file}: ${(error as Error).message}`, { cause: error });
    }
    if (this.#cache?.mtimeMs === mtimeMs) return this.#cache;
    const entries = parseLdif(readFileSync(this.#file, 'utf8'));
    const byDn = new Map(entries.map((e) => [normalizeDn(e.dn), e]));
    this.#cache = { mtimeMs, entries, byDn };
    return this.#cache;
  }

  #access(): EntryAccess {
    const data = this.#load();
    const project = (entry: RawEntry, attributes: readonly string[]): RawEntry => {
      const wanted = new Set(attributes.map((a) => a.toLowerCase()));
      const attrs = new Map<string, RawValue[]>();
      for (const [k, v] of entry.attrs) if (wanted.has(k)) attrs.set(k, [...v]);
      return { dn: entry.dn, attrs };
    };
    return {
      async *search(base, filter, attributes) {
        const parsed = typeof filter === 'string' ? FilterParser.parseString(filter) : filter;
        const baseKey = normalizeDn(base);
        const page: RawEntry[] = [];
        for (const entry of data.entries) {
          if (isUnder(normalizeDn(entry.dn), baseKey) && matches(parsed, entry)) page.push(project(entry, attributes));
        }
        yield page;
      },
      async readEntry(dn, attributes) {
        const entry = data.byDn.get(normalizeDn(dn));
        return entry ? project(entry, attributes) : null;
      },
    };
  }

  #layout(): ReadLayout {
    const profile = resolveProfile('openldap', this.#overrides);
    const base = this.#load().entries[0]?.dn ?? '';
    return { profile, userBase: base, userFilter: profile.userFilter, groupBase: base };
  }

  async probe() {
    this.#load();
    return { vendor: 'ldif' as const, certificate: null };
  }

  async read(scope: ReadScope, onProgress?: (progress: ReadProgress) => void): Promise<DirectorySnapshot> {
    const result = await readScope(this.#access(), scope, this.#layout(), onProgress);
    return { vendor: 'ldif', groups: result.groups, users: result.users, skipped: result.skipped, certificate: null, stats: result.stats };
  }

  async findGroup(ref: string): Promise<DirectoryGroupRef | null> {
    const layout = this.#layout();
    const p = layout.profile;
    const found = await findGroupEntries(this.#access(), ref, layout, ['objectClass', p.id, p.groupName, p.groupDescription]);
    return toGroupRef(found, p, ref);
  }

  /** `why`: the nesting path, walked upward through the member values of the file's groups (all in memory). */
  async memberPath(group: { id: string; dn: string | null }, user: { id: string; dn: string | null }): Promise<string[] | null> {
    if (!group.dn || !user.dn) return null;
    return findMemberPath(this.#access(), this.#layout(), group.dn, user.dn);
  }

  async close(): Promise<void> {}
}
