/**
 * The snapshot kept between incremental reads: the scope graph the last read built (users and
 * groups as compact records, every group's direct members as node numbers, the linked groups
 * and why they are linked) and each linked group's members expanded, in id order. After a delta
 * only what it touched is classified again and only the linked groups that reach a touched node
 * through nesting (the reverse index) are expanded again; the answer is then the one a full
 * read of the same entries gives (expand.ts orders both alike).
 *
 * Nodes not backed by a kept entry (a dangling member value, an entry outside the tracked base
 * or neither user nor group) are read again from the server every run, as a read over the kept
 * entries does. What the patch cannot vouch for returns a reason, and the caller reads the
 * snapshot from the kept entries instead.
 */
import { FilterParser, type Filter } from 'ldapts';
import type { DirectoryUser, ReadScope, SkippedEntry } from '../../domain/types.ts';
import { IntList, type Reader, type Writer } from './codec.ts';
import { DnSyntaxError, isUnder, normalizeDn } from './dn.ts';
import type { EntryCache } from './entry-cache.ts';
import { matchFilter } from './filter-match.ts';
import { type EntryAccess, type GraphRead, type ReadLayout, linkFilter, looksLikeDn, refFilter, scopeAttributes } from './read.ts';
import { type ClassifyCounters, newCounters, resolvePending } from './read/classify.ts';
import { reachedNodes } from './read/expand.ts';
import { DANGLING, GROUP, INVALID, LINKED_BY_DN, LINKED_BY_FILTER, LINKED_BY_REF, ScopeGraph, USER } from './read/graph.ts';
import { type RawEntry, hasClass } from './transform.ts';

export interface KeptSnapshot {
  readonly graph: ScopeGraph;
  readonly expansions: Map<number, Int32Array>;
  readonly scanned: boolean;
}

export function keptOf(read: GraphRead, expansions: Map<number, Int32Array>): KeptSnapshot {
  return { graph: read.graph, expansions, scanned: read.scanned };
}

// ---- encoding ---------------------------------------------------------------------------------

interface Meta {
  scanned: boolean;
  skips: [number, SkippedEntry][];
  invalid: [number, string][];
  loose: SkippedEntry[];
}

/** Writes the reached part of the graph (unreached nodes are dropped, the rest renumbered). */
export function encodeSnapshot(w: Writer, kept: KeptSnapshot): void {
  const { graph } = kept;
  const reached = reachedNodes(graph);
  const renumber = new Int32Array(graph.size).fill(-1);
  let n = 0;
  for (let k = 0; k < graph.size; k++) if (reached[k]) renumber[k] = n++;
  const nodes = new Int32Array(n * 4); // key, dn, kind, id
  for (let k = 0; k < graph.size; k++) {
    const at = renumber[k]!;
    if (at < 0) continue;
    nodes[at * 4] = w.str(graph.nodeKey[k]!);
    nodes[at * 4 + 1] = w.str(graph.nodeDn[k]!);
    nodes[at * 4 + 2] = graph.nodeKind[k]!;
    nodes[at * 4 + 3] = w.str(graph.nodeId.get(k));
  }
  w.ints(nodes);
  const users = new IntList();
  for (const [node, u] of graph.users) if (reached[node]) users.push(renumber[node]!, w.str(u.dn), w.str(u.login), w.str(u.mail), w.str(u.displayName), u.enabled ? 1 : 0);
  w.ints(users.view());
  const groups = new IntList();
  const offsets = new IntList();
  offsets.push(0);
  const members = new IntList();
  for (const [node, g] of graph.groups) {
    if (!reached[node]) continue;
    groups.push(renumber[node]!, w.str(g.dn), w.str(g.name), w.str(g.description));
    for (const m of g.members) members.push(renumber[m]!);
    offsets.push(members.length);
  }
  w.ints(groups.view());
  w.ints(offsets.view());
  w.ints(members.view());
  const linked = new IntList();
  for (const node of graph.linked) linked.push(renumber[node]!, graph.linkedBy.get(node) ?? LINKED_BY_FILTER);
  w.ints(linked.view());
  const expanded = new IntList();
  const expandedOffsets = new IntList();
  expandedOffsets.push(0);
  const expandedMembers = new IntList();
  for (const [node, list] of kept.expansions) {
    if (!graph.linked.has(node) || !graph.groups.has(node)) continue;
    expanded.push(renumber[node]!);
    for (const m of list) expandedMembers.push(renumber[m]!);
    expandedOffsets.push(expandedMembers.length);
  }
  w.ints(expanded.view());
  w.ints(expandedOffsets.view());
  w.ints(expandedMembers.view());
  const meta: Meta = {
    scanned: kept.scanned,
    skips: [...graph.nodeSkip].filter(([node]) => reached[node]).map(([node, s]) => [renumber[node]!, s]),
    invalid: [...graph.invalidReason].filter(([node]) => reached[node]).map(([node, r]) => [renumber[node]!, r]),
    loose: graph.loose,
  };
  w.json(meta);
}

export function decodeSnapshot(r: Reader): KeptSnapshot {
  const graph = new ScopeGraph();
  const nodes = r.ints();
  for (let k = 0; k < nodes.length; k += 4) {
    const node = graph.nodeOf(r.str(nodes[k]!)!, r.str(nodes[k + 1]!)!, nodes[k + 2]!);
    const id = r.str(nodes[k + 3]!);
    if (id !== null) graph.nodeId.set(node, id);
  }
  const users = r.ints();
  for (let k = 0; k < users.length; k += 6) {
    const node = users[k]!;
    const user: DirectoryUser = { id: graph.nodeId.get(node)!, dn: r.str(users[k + 1]!), login: r.str(users[k + 2]!), mail: r.str(users[k + 3]!), displayName: r.str(users[k + 4]!), enabled: users[k + 5] === 1 };
    graph.users.set(node, user);
  }
  const groups = r.ints();
  const offsets = r.ints();
  const members = r.ints();
  for (let k = 0, g = 0; k < groups.length; k += 4, g++) {
    const node = groups[k]!;
    graph.groups.set(node, { id: graph.nodeId.get(node)!, dn: r.str(groups[k + 1]!)!, name: r.str(groups[k + 2]!)!, description: r.str(groups[k + 3]!), members: Array.from(members.subarray(offsets[g]!, offsets[g + 1]!)) });
  }
  const linked = r.ints();
  for (let k = 0; k < linked.length; k += 2) graph.link(linked[k]!, linked[k + 1]!);
  const expanded = r.ints();
  const expandedOffsets = r.ints();
  const expandedMembers = r.ints();
  const expansions = new Map<number, Int32Array>();
  for (let k = 0; k < expanded.length; k++) expansions.set(expanded[k]!, expandedMembers.slice(expandedOffsets[k]!, expandedOffsets[k + 1]!));
  const meta = r.json<Meta>();
  for (const [node, skip] of meta.skips) graph.nodeSkip.set(node, skip);
  for (const [node, reason] of meta.invalid) graph.invalidReason.set(node, reason);
  graph.loose.push(...meta.loose);
  return { graph, expansions, scanned: meta.scanned };
}

// ---- patching ---------------------------------------------------------------------------------

export interface Delta {
  /** Ids of entries added or modified (as now kept in the cache). */
  readonly changed: readonly string[];
  /** Ids of entries gone from the cache. */
  readonly deleted: readonly string[];
  /** The normalised DN each changed or deleted entry had before (undefined: not kept before). */
  readonly oldKeys: ReadonlyMap<string, string | null | undefined>;
}

export interface PatchResult {
  readonly counters: ClassifyCounters;
  /** Linked groups expanded again. */
  readonly reexpanded: number;
  /** Nodes classified again. */
  readonly reclassified: number;
}

/** Why the patch cannot follow a delta (the caller reads from the kept entries instead). */
export class PatchFallback extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`the kept snapshot cannot follow this change (${reason})`);
    this.reason = reason;
  }
}

interface Before {
  readonly kind: number;
  readonly members: readonly number[] | undefined;
  readonly userId: string | undefined;
}

function keyOf(dn: string): string {
  try {
    return normalizeDn(dn);
  } catch (error) {
    if (error instanceof DnSyntaxError) throw new PatchFallback('dnSyntax');
    throw error;
  }
}

/**
 * Brings the kept snapshot up to date with a delta already applied to `cache`; `access` reads
 * the cache (and the server for what it does not hold). Throws PatchFallback.
 */
export async function patchSnapshot(kept: KeptSnapshot, delta: Delta, cache: EntryCache, access: EntryAccess, scope: ReadScope, layout: ReadLayout): Promise<PatchResult> {
  const { graph } = kept;
  const p = layout.profile;
  const byId = new Map<string, number>();
  for (const [node, id] of graph.nodeId) byId.set(id, node);
  const dirty = new Set<number>();
  const idLinks = linkMatchers(scope, layout);
  const groupBase = normalizeDn(layout.groupBase);

  const ids = [...delta.changed, ...delta.deleted];
  // Every changed entry leaves its node first, then takes the one at its DN now: one moved onto
  // the DN another left in the same delta is not unlinked again when that other is handled.
  for (const id of ids) {
    const old = byId.get(id);
    if (old !== undefined) {
      dirty.add(old);
      graph.unlink(old, LINKED_BY_FILTER | LINKED_BY_REF);
    }
    const oldKey = delta.oldKeys.get(id);
    if (oldKey === null) throw new PatchFallback('dnSyntax');
    if (oldKey !== undefined) {
      const atOld = graph.nodeIndex.get(oldKey);
      if (atOld !== undefined) dirty.add(atOld);
    }
  }
  for (const id of ids) {
    const now = cache.get(id);
    if (!now) continue;
    const key = keyOf(now.entry.dn);
    const at = graph.nodeIndex.get(key);
    if (at !== undefined) {
      dirty.add(at);
      graph.unlink(at, LINKED_BY_FILTER | LINKED_BY_REF);
    }
    const by = linkedBy(now.entry, key, groupBase, idLinks, p.groupClasses);
    if (by) {
      const node = graph.nodeOf(key, now.entry.dn);
      graph.link(node, by);
      dirty.add(node);
    }
  }
  await relinkByDn(graph, scope, access, layout, dirty);

  const before = new Map<number, Before>();
  const reset = (node: number) => {
    if (before.has(node)) return;
    before.set(node, { kind: graph.nodeKind[node]!, members: graph.groups.get(node)?.members, userId: graph.users.get(node)?.id });
    graph.reset(node);
  };
  for (const node of dirty) reset(node);
  const counters = newCounters();
  const { anyAttributes } = scopeAttributes(p);
  const resolve = () => resolvePending(graph, access, p, anyAttributes, counters, layout.concurrency ?? 8);
  await resolve();
  // Nodes no kept entry backs are read again, once reached (a patch may reach old ones again).
  for (;;) {
    const reached = reachedNodes(graph);
    let more = 0;
    for (let k = 0; k < graph.size; k++) {
      if (reached[k] && !before.has(k) && volatile(graph, k, cache)) {
        reset(k);
        more++;
      }
    }
    if (more === 0) break;
    await resolve();
  }
  for (const node of before.keys()) assertVouched(graph, node, cache, p.groupClasses, p.userClasses);
  const reexpanded = reexpand(kept, before);
  return { counters, reexpanded, reclassified: before.size };
}

/** A node whose classification did not come from a kept entry (or came from one since gone or moved). */
function volatile(graph: ScopeGraph, node: number, cache: EntryCache): boolean {
  const kind = graph.nodeKind[node];
  if (kind === INVALID) return false;
  if (kind === DANGLING) return true;
  const id = graph.nodeId.get(node);
  if (id === undefined) return true;
  const kept = cache.get(id);
  return !kept || kept.key !== graph.nodeKey[node];
}

/** An entry both a user and a group: a full read may class it either way (by a user scan or by its DN). */
function assertVouched(graph: ScopeGraph, node: number, cache: EntryCache, groupClasses: readonly string[], userClasses: readonly string[]): void {
  const id = graph.nodeId.get(node);
  const entry = id === undefined ? undefined : cache.get(id)?.entry;
  if (entry && hasClass(entry, groupClasses) && hasClass(entry, userClasses)) throw new PatchFallback('ambiguousKind');
}

interface LinkMatchers {
  readonly filter: Filter | null;
  readonly refs: readonly Filter[];
}

function linkMatchers(scope: ReadScope, layout: ReadLayout): LinkMatchers {
  const p = layout.profile;
  const filter = linkFilter(scope, p);
  const refs = scope.groupRefs.filter((ref) => !looksLikeDn(ref)).map((ref) => {
    const f = refFilter(ref, p);
    return typeof f === 'string' ? FilterParser.parseString(f) : f;
  });
  return { filter: filter ? FilterParser.parseString(filter) : null, refs };
}

/** How a kept group entry is linked by the scope filter or an id or name reference (both under the group base). */
function linkedBy(entry: RawEntry, key: string, groupBase: string, m: LinkMatchers, groupClasses: readonly string[]): number {
  if (!isUnder(key, groupBase) || !hasClass(entry, groupClasses)) return 0;
  let by = 0;
  if (m.filter && matchFilter(m.filter, entry)) by |= LINKED_BY_FILTER;
  if (m.refs.some((f) => matchFilter(f, entry))) by |= LINKED_BY_REF;
  return by;
}

/** References by DN are read every run (the entry they name may be outside what is kept). */
async function relinkByDn(graph: ScopeGraph, scope: ReadScope, access: EntryAccess, layout: ReadLayout, dirty: Set<number>): Promise<void> {
  const p = layout.profile;
  const { groupAttributes } = scopeAttributes(p);
  const now = new Set<number>();
  for (const ref of scope.groupRefs) {
    if (!looksLikeDn(ref)) continue;
    const entry = await access.readEntry(ref, groupAttributes);
    if (!entry || !hasClass(entry, p.groupClasses)) continue;
    const node = graph.nodeOf(keyOf(entry.dn), entry.dn);
    now.add(node);
  }
  for (const [node, by] of [...graph.linkedBy]) {
    if (by & LINKED_BY_DN && !now.has(node)) {
      graph.unlink(node, LINKED_BY_DN);
      dirty.add(node);
    }
  }
  for (const node of now) {
    if (!((graph.linkedBy.get(node) ?? 0) & LINKED_BY_DN)) dirty.add(node);
    graph.link(node, LINKED_BY_DN);
  }
}

function sameMembers(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** Drops the expansions of the linked groups that reach a node whose kind, members or user id changed; returns how many. */
function reexpand(kept: KeptSnapshot, before: ReadonlyMap<number, Before>): number {
  const { graph } = kept;
  const affected: number[] = [];
  for (const [node, was] of before) {
    const kind = graph.nodeKind[node];
    if (was.kind !== kind || (kind === GROUP && !sameMembers(was.members, graph.groups.get(node)?.members)) || (kind === USER && was.userId !== graph.users.get(node)?.id)) {
      affected.push(node);
    }
  }
  if (affected.length === 0) return 0;
  // The reverse index: member → the groups listing it.
  const parents = new Map<number, number[]>();
  for (const [node, g] of graph.groups) {
    for (const m of g.members) {
      const list = parents.get(m);
      if (list) list.push(node);
      else parents.set(m, [node]);
    }
  }
  const seen = new Set<number>(affected);
  const stack = [...affected];
  let count = 0;
  while (stack.length) {
    const node = stack.pop()!;
    if (kept.expansions.delete(node)) count++;
    for (const parent of parents.get(node) ?? []) {
      if (!seen.has(parent)) {
        seen.add(parent);
        stack.push(parent);
      }
    }
  }
  return count;
}

