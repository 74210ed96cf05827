/**
 * The classify step: an entry met by a read becomes a user, a group (its member values interned
 * as nodes, AD's ranged member lists read to their end) or other; a node still unknown is read
 * by its DN (nested groups outside the scope, users outside the user base, dangling values).
 */
import type { ReadProgress } from '../../../domain/types.ts';
import { dnOfNameAndOptionalUid } from '../dn.ts';
import type { EntryAccess } from '../read.ts';
import { type RawEntry, firstString, hasClass, isSkipped, memberChunks, stableId, transformUser } from '../transform.ts';
import type { VendorProfile } from '../vendors.ts';
import { DANGLING, GROUP, OTHER, type ScopeGraph, UNKNOWN, USER } from './graph.ts';

export interface ClassifyCounters {
  entries: number;
  dangling: number;
  rangedReads: number;
}

export function newCounters(): ClassifyCounters {
  return { entries: 0, dangling: 0, rangedReads: 0 };
}

export function addUser(graph: ScopeGraph, node: number, entry: RawEntry, p: VendorProfile): void {
  const user = transformUser(entry, p);
  if (isSkipped(user)) {
    graph.nodeKind[node] = OTHER;
    graph.nodeSkip.set(node, user);
    if (user.id) graph.nodeId.set(node, user.id);
    return;
  }
  graph.nodeKind[node] = USER;
  graph.users.set(node, user);
  graph.nodeId.set(node, user.id);
}

/** A group entry: classified, its members interned; `linkedBy` (LINKED_BY_* bits, 0: not linked) links it. Returns its node. */
export async function addGroup(
  graph: ScopeGraph,
  entry: RawEntry,
  linkedBy: number,
  access: EntryAccess,
  p: VendorProfile,
  counters: ClassifyCounters,
): Promise<number | null> {
  const node = graph.intern(entry.dn);
  if (node === null) return null;
  if (linkedBy) graph.link(node, linkedBy);
  if (graph.nodeKind[node] === GROUP) return node;
  const id = stableId(entry, p);
  if (!id) return skipGroup(graph, node, { ref: entry.dn, reason: `group has no ${p.id} (stable id)`, kind: 'group' });
  graph.nodeId.set(node, id);
  const name = firstString(entry, p.groupName);
  if (!name) return skipGroup(graph, node, { ref: entry.dn, reason: `group has no ${p.groupName} (name)`, kind: 'group' });
  graph.nodeKind[node] = GROUP;
  const members: number[] = [];
  graph.groups.set(node, { id, dn: entry.dn, name, description: firstString(entry, p.groupDescription), members });
  for (const [attribute, chunk] of memberChunks(entry, p.member)) {
    // uniqueMember is a NameAndOptionalUID: `<DN>#'0101'B` names the entry <DN>.
    const optionalUid = attribute === 'uniquemember';
    const addValues = (values: readonly string[]) => {
      for (const v of values) members.push(graph.internMember(optionalUid ? dnOfNameAndOptionalUid(v) : v));
    };
    addValues(chunk.values);
    let next = chunk.nextStart;
    // AD cuts large multi-valued attributes (1,500 values): read `member;range=N-*` to the end.
    while (next !== null) {
      counters.rangedReads++;
      const more = await access.readEntry(entry.dn, [`${attribute};range=${next}-*`]);
      if (!more) throw new Error(`group ${entry.dn} disappeared while its members were read`);
      const part = memberChunks(more, [attribute]).get(attribute.toLowerCase());
      if (!part) break;
      addValues(part.values);
      if (part.values.length === 0) break;
      next = part.nextStart;
    }
  }
  return node;
}

function skipGroup(graph: ScopeGraph, node: number, skip: { ref: string; reason: string; kind: 'group' }): number {
  graph.nodeKind[node] = OTHER;
  graph.nodeSkip.set(node, skip);
  return node;
}

/** How an entry read by its DN is classified: group, user (not a computer) or other. */
export function kindOfEntry(entry: RawEntry, p: VendorProfile): number {
  if (hasClass(entry, p.groupClasses)) return GROUP;
  if (hasClass(entry, p.userClasses) && !hasClass(entry, ['computer'])) return USER;
  return OTHER;
}

/** Classifies one unknown node from its entry (null: the DN names no entry). */
export async function classifyNode(graph: ScopeGraph, node: number, entry: RawEntry | null, access: EntryAccess, p: VendorProfile, counters: ClassifyCounters): Promise<void> {
  if (!entry) {
    graph.nodeKind[node] = DANGLING;
    counters.dangling++;
    return;
  }
  const kind = kindOfEntry(entry, p);
  if (kind === GROUP) await addGroup(graph, entry, 0, access, p, counters);
  else if (kind === USER) addUser(graph, node, entry, p);
  else {
    graph.nodeKind[node] = OTHER;
    const id = stableId(entry, p);
    if (id) graph.nodeId.set(node, id);
  }
}

/** Reads every node still unknown by its DN until none is left (a group read may add more). */
export async function resolvePending(
  graph: ScopeGraph,
  access: EntryAccess,
  p: VendorProfile,
  attributes: readonly string[],
  counters: ClassifyCounters,
  concurrency: number,
  onProgress?: (progress: ReadProgress) => void,
): Promise<void> {
  for (;;) {
    const pending = graph.pending();
    if (pending.length === 0) return;
    let cursor = 0;
    const worker = async () => {
      while (cursor < pending.length) {
        const node = pending[cursor++]!;
        if (graph.nodeKind[node] !== UNKNOWN) continue;
        const entry = await access.readEntry(graph.nodeDn[node]!, attributes);
        counters.entries++;
        await classifyNode(graph, node, entry, access, p, counters);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, pending.length) }, worker));
    onProgress?.({ phase: 'resolve', count: graph.users.size });
  }
}
