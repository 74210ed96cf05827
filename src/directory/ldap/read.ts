/**
 * Reads a scope from any LDAP-shaped directory through a small entry-access port:
 * the linked groups, their members expanded through nested groups (cycles are safe), and the
 * users reached. Entries are consumed page by page and reduced at once to compact records:
 * member DNs are interned once as integer nodes, raw pages are dropped as soon as read.
 */
import { AndFilter, EqualityFilter, type Filter, FilterParser, escapeFilter } from 'ldapts';
import type { DirectoryGroup, DirectoryUser, ReadProgress, ReadScope, SkippedEntry } from '../../domain/types.ts';
import { DnSyntaxError, dnOfNameAndOptionalUid, normalizeDn } from './dn.ts';
import {
  type RawEntry,
  encodeObjectGuid,
  firstString,
  hasClass,
  isSkipped,
  memberChunks,
  stableId,
  transformUser,
} from './transform.ts';
import type { VendorProfile } from './vendors.ts';

export interface EntryAccess {
  /** A paged subtree search; yields each page as it arrives. */
  search(base: string, filter: string | Filter, attributes: readonly string[]): AsyncIterable<RawEntry[]>;
  /** A base-scope read of one entry; null when it does not exist. */
  readEntry(dn: string, attributes: readonly string[]): Promise<RawEntry | null>;
}

export interface ReadLayout {
  readonly profile: VendorProfile;
  readonly userBase: string;
  readonly userFilter: string;
  readonly groupBase: string;
  /** Member lists above this many distinct DNs are resolved by one paged user scan instead of per-entry reads. */
  readonly scanThreshold?: number;
  readonly concurrency?: number;
}

export interface ScopeRead {
  readonly groups: DirectoryGroup[];
  readonly users: DirectoryUser[];
  readonly skipped: SkippedEntry[];
  readonly stats: { entries: number; danglingMembers: number; rangedReads: number; scanned: boolean };
}

const UNKNOWN = 0;
const USER = 1;
const GROUP = 2;
/** An entry that is neither a usable user nor a group (a computer, a contact, a skipped user). */
const OTHER = 3;
/** A member value naming no entry. */
const DANGLING = 4;
/** A member value that is not a DN. */
const INVALID = 5;

/** Member values that cannot be resolved are listed on the run up to this many, then counted. */
export const UNRESOLVED_LISTED = 50;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function looksLikeDn(ref: string): boolean {
  return /^[a-z][a-z0-9-]*\s*=|^\d+(\.\d+)+\s*=/i.test(ref) && ref.includes('=');
}

interface GroupNode {
  id: string;
  dn: string;
  name: string;
  description: string | null;
  members: number[];
}

/** The attributes a scope read asks for: of users, of groups, of an entry that may be either. */
export function scopeAttributes(p: VendorProfile): { userAttributes: string[]; groupAttributes: string[]; anyAttributes: string[] } {
  const userAttributes = unique(['objectClass', p.id, p.login, p.mail, p.displayName, 'cn', ...(p.disabled ? [p.disabled] : [])]);
  const groupAttributes = unique(['objectClass', p.id, p.groupName, p.groupDescription, ...p.member]);
  return { userAttributes, groupAttributes, anyAttributes: unique([...userAttributes, ...groupAttributes]) };
}

export async function readScope(
  access: EntryAccess,
  scope: ReadScope,
  layout: ReadLayout,
  onProgress?: (progress: ReadProgress) => void,
): Promise<ScopeRead> {
  const p = layout.profile;
  const scanThreshold = layout.scanThreshold ?? 200;
  const concurrency = layout.concurrency ?? 8;
  const { userAttributes, groupAttributes, anyAttributes } = scopeAttributes(p);

  const nodeIndex = new Map<string, number>();
  const nodeDn: string[] = [];
  const nodeKind: number[] = [];
  const userOf = new Map<number, number>();
  const groupOf = new Map<number, GroupNode>();
  const users: DirectoryUser[] = [];
  const skipped: SkippedEntry[] = [];
  const linked: number[] = [];
  const linkedSet = new Set<number>();
  let entries = 0;
  let dangling = 0;
  let rangedReads = 0;

  // Member values repeat (a user is in many groups): the raw spelling is looked up before the
  // DN is parsed and normalised, so each distinct spelling is normalised once.
  const rawIndex = new Map<string, number>();
  const intern = (dn: string): number | null => {
    const known = rawIndex.get(dn);
    if (known !== undefined) return known;
    const index = internKey(dn);
    if (index !== null) rawIndex.set(dn, index);
    return index;
  };
  const internKey = (dn: string): number | null => {
    let key: string;
    try {
      key = normalizeDn(dn);
    } catch (error) {
      if (error instanceof DnSyntaxError) {
        skipped.push({ ref: dn, reason: error.message, kind: 'entry' });
        return null;
      }
      throw error;
    }
    return nodeOf(key, dn, UNKNOWN);
  };
  const nodeOf = (key: string, dn: string, kind: number): number => {
    let index = nodeIndex.get(key);
    if (index === undefined) {
      index = nodeDn.length;
      nodeIndex.set(key, index);
      nodeDn.push(dn);
      nodeKind.push(kind);
    }
    return index;
  };
  /** A member value: one that is not a DN becomes an INVALID node, reported with its group at the end. */
  const invalidReason = new Map<number, string>();
  const internMember = (value: string): number => {
    const known = rawIndex.get(value);
    if (known !== undefined) return known;
    let index: number;
    try {
      index = nodeOf(normalizeDn(value), value, UNKNOWN);
    } catch (error) {
      if (!(error instanceof DnSyntaxError)) throw error;
      index = nodeOf(`\u0000${value}`, value, INVALID);
      invalidReason.set(index, error.reason);
    }
    rawIndex.set(value, index);
    return index;
  };

  const addUser = (node: number, entry: RawEntry) => {
    const user = transformUser(entry, p);
    if (isSkipped(user)) {
      skipped.push(user);
      nodeKind[node] = OTHER;
      return;
    }
    nodeKind[node] = USER;
    userOf.set(node, users.length);
    users.push(user);
  };

  const addGroup = async (entry: RawEntry, isLinked: boolean): Promise<void> => {
    const node = intern(entry.dn);
    if (node === null) return;
    if (isLinked && !linkedSet.has(node)) {
      linkedSet.add(node);
      linked.push(node);
    }
    if (nodeKind[node] === GROUP) return;
    const id = stableId(entry, p);
    if (!id) {
      skipped.push({ ref: entry.dn, reason: `group has no ${p.id} (stable id)`, kind: 'group' });
      nodeKind[node] = OTHER;
      return;
    }
    const name = firstString(entry, p.groupName);
    if (!name) {
      skipped.push({ ref: entry.dn, reason: `group has no ${p.groupName} (name)`, kind: 'group' });
      nodeKind[node] = OTHER;
      return;
    }
    nodeKind[node] = GROUP;
    const group: GroupNode = { id, dn: entry.dn, name, description: firstString(entry, p.groupDescription), members: [] };
    groupOf.set(node, group);
    for (const [attribute, chunk] of memberChunks(entry, p.member)) {
      // uniqueMember is a NameAndOptionalUID: `<DN>#'0101'B` names the entry <DN>.
      const optionalUid = attribute === 'uniquemember';
      const addValues = (values: readonly string[]) => {
        for (const v of values) group.members.push(internMember(optionalUid ? dnOfNameAndOptionalUid(v) : v));
      };
      addValues(chunk.values);
      let next = chunk.nextStart;
      // AD cuts large multi-valued attributes (1,500 values): read `member;range=N-*` to the end.
      while (next !== null) {
        rangedReads++;
        const more = await access.readEntry(entry.dn, [`${attribute};range=${next}-*`]);
        if (!more) throw new Error(`group ${entry.dn} disappeared while its members were read`);
        const chunks = memberChunks(more, [attribute]);
        const part = chunks.get(attribute.toLowerCase());
        if (!part) break;
        addValues(part.values);
        if (part.values.length === 0) break;
        next = part.nextStart;
      }
    }
  };

  // 1. Linked groups: by the scope filter, then by explicit reference.
  if (scope.groupFilter) {
    const filter = `(&${p.groupFilter}${wrap(scope.groupFilter)})`;
    for await (const page of access.search(layout.groupBase, filter, groupAttributes)) {
      for (const entry of page) {
        entries++;
        await addGroup(entry, true);
      }
      onProgress?.({ phase: 'groups', count: linked.length });
    }
  }
  for (const ref of scope.groupRefs) {
    const found = await findGroupEntries(access, ref, layout, groupAttributes);
    for (const entry of found) {
      entries++;
      await addGroup(entry, true);
    }
  }
  onProgress?.({ phase: 'groups', count: linked.length });

  // 2. Members: one paged user scan when there are many, else per-entry reads below.
  const pendingCount = () => {
    let count = 0;
    for (let k = 0; k < nodeKind.length; k++) if (nodeKind[k] === UNKNOWN) count++;
    return count;
  };
  let scanned = false;
  if (pendingCount() > scanThreshold) {
    scanned = true;
    let seen = 0;
    for await (const page of access.search(layout.userBase, layout.userFilter, userAttributes)) {
      for (const entry of page) {
        entries++;
        let key: string;
        try {
          key = normalizeDn(entry.dn);
        } catch {
          continue; // not reached by any group
        }
        const node = nodeIndex.get(key);
        if (node !== undefined && nodeKind[node] === UNKNOWN) addUser(node, entry);
      }
      seen += page.length;
      onProgress?.({ phase: 'users', count: seen });
    }
  }

  // 3. Whatever is still unknown: nested groups outside the scope, users outside the user base.
  for (;;) {
    const pending: number[] = [];
    for (let k = 0; k < nodeKind.length; k++) if (nodeKind[k] === UNKNOWN) pending.push(k);
    if (pending.length === 0) break;
    let cursor = 0;
    const worker = async () => {
      while (cursor < pending.length) {
        const node = pending[cursor++]!;
        const entry = await access.readEntry(nodeDn[node]!, anyAttributes);
        entries++;
        if (!entry) {
          nodeKind[node] = DANGLING;
          dangling++;
        } else if (hasClass(entry, p.groupClasses)) {
          await addGroup(entry, false);
        } else if (hasClass(entry, p.userClasses) && !hasClass(entry, ['computer'])) {
          addUser(node, entry);
        } else {
          nodeKind[node] = OTHER;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    onProgress?.({ phase: 'resolve', count: users.length });
  }

  // 4. Expand each linked group through nested groups; a visited set makes cycles safe.
  const groups: DirectoryGroup[] = [];
  for (const node of linked) {
    const g = groupOf.get(node);
    if (!g) continue;
    const visited = new Set<number>([node]);
    const stack = [node];
    const memberIds: string[] = [];
    const seenUsers = new Set<number>();
    while (stack.length) {
      const current = groupOf.get(stack.pop()!);
      if (!current) continue;
      for (const m of current.members) {
        const kind = nodeKind[m];
        if (kind === USER) {
          if (!seenUsers.has(m)) {
            seenUsers.add(m);
            memberIds.push(users[userOf.get(m)!]!.id);
          }
        } else if (kind === GROUP && !visited.has(m)) {
          visited.add(m);
          stack.push(m);
        }
      }
    }
    groups.push({ id: g.id, dn: g.dn, name: g.name, description: g.description, memberIds });
  }
  skipped.push(...unresolvedMembers(groupOf.values(), (m) => {
    if (nodeKind[m] === DANGLING) return `member "${nodeDn[m]}" names no entry (dangling); left out of the group`;
    if (nodeKind[m] === INVALID) return `member "${nodeDn[m]}" is not a DN (${invalidReason.get(m)}); left out of the group`;
    return null;
  }));
  // Only users reached by a linked group belong to the snapshot.
  const reached = new Set<string>();
  for (const g of groups) for (const id of g.memberIds) reached.add(id);
  const reachedUsers = users.filter((u) => reached.has(u.id));
  return { groups, users: reachedUsers, skipped, stats: { entries, danglingMembers: dangling, rangedReads, scanned } };
}

/** One skipped entry per member value that cannot be resolved, naming its group; the first UNRESOLVED_LISTED, then a count. */
function unresolvedMembers(groups: Iterable<GroupNode>, problem: (member: number) => string | null): SkippedEntry[] {
  const out: SkippedEntry[] = [];
  let total = 0;
  for (const g of groups) {
    for (const m of g.members) {
      const reason = problem(m);
      if (reason === null) continue;
      total++;
      if (out.length < UNRESOLVED_LISTED) out.push({ ref: g.dn, reason, kind: 'member' });
    }
  }
  if (total > out.length) {
    out.push({ ref: 'member values', kind: 'member', reason: `${total - out.length} more member values name no entry or are not DNs (${total} in all); the first ${out.length} are listed` });
  }
  return out;
}

function unique(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = v.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function wrap(filter: string): string {
  const f = filter.trim();
  return f.startsWith('(') ? f : `(${f})`;
}

/** Finds group entries for a reference: a DN, a stable id, or a name (escaped into the filter). */
export async function findGroupEntries(
  access: EntryAccess,
  ref: string,
  layout: ReadLayout,
  attributes: readonly string[],
): Promise<RawEntry[]> {
  const p = layout.profile;
  if (looksLikeDn(ref)) {
    const entry = await access.readEntry(ref, attributes);
    return entry && hasClass(entry, p.groupClasses) ? [entry] : [];
  }
  let filter: string | Filter;
  if (GUID.test(ref)) {
    // A binary objectGUID goes as bytes in a filter object: ldapts would UTF-8-encode `\xx` escapes.
    filter = p.idIsGuid
      ? new AndFilter({ filters: [FilterParser.parseString(p.groupFilter), new EqualityFilter({ attribute: p.id, value: encodeObjectGuid(ref) })] })
      : `(&${p.groupFilter}${escapeFilter`(${p.id}=${ref.toLowerCase()})`})`;
  } else {
    filter = `(&${p.groupFilter}${escapeFilter`(${p.groupName}=${ref})`})`;
  }
  const out: RawEntry[] = [];
  for await (const page of access.search(layout.groupBase, filter, attributes)) out.push(...page);
  return out;
}
