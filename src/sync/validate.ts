/**
 * Checks a snapshot, whatever its source (LDAP, LDIF, Entra), before it is planned: an entry with
 * a value the store cannot keep (PostgreSQL text holds no NUL character, UTF-8 no lone
 * surrogate, and a byte that was not UTF-8 would be stored as U+FFFD) is skipped with a reason that names it and the attribute, instead of failing the
 * whole run at the first insert. A skipped entry is left as it is by the plan (see SkippedEntry).
 */
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser, SkippedEntry } from '../domain/types.ts';

const USER_FIELDS = ['id', 'dn', 'login', 'mail', 'displayName'] as const;
const GROUP_FIELDS = ['id', 'dn', 'name', 'description'] as const;
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What makes a value unstorable, or null when it can be stored. */
export function unstorable(value: string | null): string | null {
  if (value === null) return null;
  const found = UNSTORABLE.exec(value);
  if (!found) return null;
  if (found[0] === '\u0000') return 'a NUL byte (U+0000)';
  const code = found[0].charCodeAt(0);
  // U+DC80–U+DCFF: a byte that was not UTF-8, as the LDAP reader decodes it (see decodeText).
  if (code >= 0xdc80 && code <= 0xdcff) return `a byte that is not UTF-8 (0x${(code - 0xdc00).toString(16).toUpperCase()})`;
  return `a lone surrogate (U+${code.toString(16).toUpperCase()})`;
}

/** A text made storable for a reason or a reference: NUL as the DN escape `\00`, a lone surrogate as U+FFFD. */
export function storable(text: string): string {
  return text.replace(/\u0000/g, '\\00').toWellFormed();
}

function check<T extends object>(entry: T, fields: readonly (keyof T & string)[]): { field: string; what: string } | null {
  for (const field of fields) {
    const what = unstorable(entry[field] as string | null);
    if (what) return { field, what };
  }
  return null;
}

function skip(ref: string, id: string, problem: { field: string; what: string }): SkippedEntry {
  return { ref: storable(ref), id: storable(id), reason: `${problem.field} holds ${problem.what}, which the store cannot keep; fix the value in the directory` };
}

export function validateSnapshot(snapshot: DirectorySnapshot): DirectorySnapshot {
  const skipped: SkippedEntry[] = [];
  const badUsers = new Set<string>();
  for (const u of snapshot.users) {
    const problem = check(u, USER_FIELDS);
    if (!problem) continue;
    badUsers.add(u.id);
    const ref = u.dn ?? (problem.field === 'login' || u.login === null ? u.id : u.login);
    skipped.push({ ...skip(ref, u.id, problem), kind: 'user' });
  }
  const badGroups: DirectoryGroup[] = [];
  for (const g of snapshot.groups) {
    const problem = check(g, GROUP_FIELDS);
    if (!problem) continue;
    badGroups.push(g);
    skipped.push({ ...skip(g.dn ?? g.id, g.id, problem), kind: 'group' });
  }
  const reader = snapshot.skipped.map((s) => (unstorable(s.ref) || unstorable(s.reason) ? { ...s, ref: storable(s.ref), reason: storable(s.reason) } : s));
  if (skipped.length === 0 && reader.every((s, k) => s === snapshot.skipped[k])) return snapshot;

  const bad = new Set(badGroups);
  const groups: DirectoryGroup[] = snapshot.groups
    .filter((g) => !bad.has(g))
    .map((g) => (g.memberIds.some((id) => badUsers.has(id)) ? { ...g, memberIds: g.memberIds.filter((id) => !badUsers.has(id)) } : g));
  // A user reached only through a skipped group is not "gone": the run leaves it as it is.
  const reached = new Set(groups.flatMap((g) => g.memberIds));
  const held = new Set(snapshot.held ?? []);
  for (const g of badGroups) for (const id of g.memberIds) if (!reached.has(id) && !badUsers.has(id)) held.add(id);
  const users: DirectoryUser[] = badUsers.size ? snapshot.users.filter((u) => !badUsers.has(u.id)) : [...snapshot.users];
  return { ...snapshot, groups, users, skipped: [...reader, ...skipped], ...(held.size ? { held: [...held] } : {}) };
}
