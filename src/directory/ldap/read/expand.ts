/**
 * The expand step and the answer of a read. Each linked group is expanded through nested groups
 * (a visited set makes cycles safe) to the user nodes it reaches. The answer has one canonical
 * order, whoever built the graph (a full read, a patched snapshot) and in whatever order the
 * server listed entries: groups by id, users by id, each group's members by id, skipped entries
 * by kind, ref and reason (member values that cannot be resolved are counted over the groups in
 * id order, the first UNRESOLVED_LISTED listed).
 */
import type { DirectoryGroup, DirectoryUser, SkippedEntry } from '../../../domain/types.ts';
import { provideMemberIndex } from '../../../domain/snapshot-index.ts';
import { DANGLING, GROUP, INVALID, type ScopeGraph, USER } from './graph.ts';

/** Member values that cannot be resolved are listed on the run up to this many, then counted. */
export const UNRESOLVED_LISTED = 50;

export interface GraphView {
  readonly nodeKind: ArrayLike<number>;
  membersOf(node: number): ArrayLike<number> | undefined;
}

/** The user nodes a group reaches through nested groups, each once, in the order met. */
export function expandGroup(view: GraphView, start: number): number[] {
  const visited = new Set<number>([start]);
  const seenUsers = new Set<number>();
  const out: number[] = [];
  const stack = [start];
  while (stack.length) {
    const members = view.membersOf(stack.pop()!);
    if (!members) continue;
    for (let k = 0; k < members.length; k++) {
      const m = members[k]!;
      const kind = view.nodeKind[m];
      if (kind === USER) {
        if (!seenUsers.has(m)) {
          seenUsers.add(m);
          out.push(m);
        }
      } else if (kind === GROUP && !visited.has(m)) {
        visited.add(m);
        stack.push(m);
      }
    }
  }
  return out;
}

export function viewOf(graph: ScopeGraph): GraphView {
  return { nodeKind: graph.nodeKind, membersOf: (node) => graph.groups.get(node)?.members };
}

/** Nodes reached from the linked groups (the linked nodes, and every member of a reached group). */
export function reachedNodes(graph: ScopeGraph): Uint8Array {
  const reached = new Uint8Array(graph.size);
  const stack: number[] = [];
  for (const node of graph.linked) {
    reached[node] = 1;
    stack.push(node);
  }
  while (stack.length) {
    const group = graph.groups.get(stack.pop()!);
    if (!group) continue;
    for (const m of group.members) {
      if (reached[m]) continue;
      reached[m] = 1;
      if (graph.nodeKind[m] === GROUP) stack.push(m);
    }
  }
  return reached;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts user nodes by their ids, through ranks (a typed array sorts numbers natively). */
export function sortByRank(nodes: ArrayLike<number>, rank: Int32Array, byRank: Int32Array): Int32Array {
  const ranks = new Int32Array(nodes.length);
  for (let k = 0; k < nodes.length; k++) ranks[k] = rank[nodes[k]!]!;
  ranks.sort();
  for (let k = 0; k < ranks.length; k++) ranks[k] = byRank[ranks[k]!]!;
  return ranks;
}

export interface GraphAnswer {
  readonly groups: DirectoryGroup[];
  readonly users: DirectoryUser[];
  readonly skipped: SkippedEntry[];
}

/**
 * The answer of a graph. `expansions` holds the linked groups' members already expanded and in
 * id order (a patched snapshot keeps those it did not touch); the others are expanded here and
 * added to it.
 */
export function answer(graph: ScopeGraph, expansions: Map<number, Int32Array> = new Map()): GraphAnswer {
  const reached = reachedNodes(graph);
  // Each reached user's id in an array by node: sorting and naming members look ids up there, not in the map.
  const idOf = new Array<string>(graph.size);
  const userNodes: number[] = [];
  for (const [node, user] of graph.users) {
    if (!reached[node]) continue;
    userNodes.push(node);
    idOf[node] = user.id;
  }
  userNodes.sort((a, b) => byString(idOf[a]!, idOf[b]!));
  const rank = new Int32Array(graph.size);
  const byRank = Int32Array.from(userNodes);
  userNodes.forEach((node, k) => (rank[node] = k));
  const view = viewOf(graph);
  const linkedGroups = [...graph.linked].filter((n) => graph.groups.has(n));
  linkedGroups.sort((a, b) => byString(graph.groups.get(a)!.id, graph.groups.get(b)!.id) || byString(graph.groups.get(a)!.dn, graph.groups.get(b)!.dn));
  const groups: DirectoryGroup[] = [];
  const numbered = new MemberNumbers(userNodes, idOf, graph.size);
  for (const node of linkedGroups) {
    let members = expansions.get(node);
    if (!members) {
      members = sortByRank(expandGroup(view, node), rank, byRank);
      expansions.set(node, members);
    }
    const g = graph.groups.get(node)!;
    const memberIds = new Array<string>(members.length);
    for (let k = 0; k < members.length; k++) memberIds[k] = idOf[members[k]!] ?? graph.users.get(members[k]!)!.id;
    groups.push({ id: g.id, dn: g.dn, name: g.name, description: g.description, memberIds });
    numbered.add(members);
  }
  for (const node of [...expansions.keys()]) if (!graph.linked.has(node) || !graph.groups.has(node)) expansions.delete(node);
  const users = userNodes.map((n) => graph.users.get(n)!);
  numbered.provide(users, groups);
  return { groups, users, skipped: skippedOf(graph, reached) };
}

/**
 * The answer's members as indexes into its users (snapshot-index.ts), from the nodes it sorted
 * the users by: the plan then looks up no member id. A user id held by two nodes is numbered by
 * its first record, as snapshotIndex numbers it; a member node that is not an answered user
 * (none is expected) leaves the numbering to snapshotIndex.
 */
class MemberNumbers {
  /** Node → index of its user id's first record in the answer's users, -1 for a node not answered. */
  readonly #index: Int32Array;
  readonly #members: Int32Array[] = [];
  #complete = true;

  constructor(userNodes: readonly number[], idOf: readonly (string | undefined)[], size: number) {
    this.#index = new Int32Array(size).fill(-1);
    userNodes.forEach((node, k) => {
      const previous = k > 0 ? userNodes[k - 1]! : -1;
      this.#index[node] = previous >= 0 && idOf[previous] === idOf[node] ? this.#index[previous]! : k;
    });
  }

  add(nodes: Int32Array): void {
    const out = new Int32Array(nodes.length);
    for (let k = 0; k < nodes.length; k++) {
      const i = this.#index[nodes[k]!]!;
      if (i < 0) this.#complete = false;
      out[k] = i;
    }
    this.#members.push(out);
  }

  provide(users: readonly DirectoryUser[], groups: readonly DirectoryGroup[]): void {
    if (this.#complete) provideMemberIndex(users, groups, this.#members);
  }
}

const skipKey = (s: SkippedEntry) => `${s.kind ?? ''}\u0000${s.ref}\u0000${s.reason}\u0000${s.id ?? ''}`;

function skippedOf(graph: ScopeGraph, reached: Uint8Array): SkippedEntry[] {
  const out: SkippedEntry[] = [...graph.loose];
  for (const [node, skip] of graph.nodeSkip) if (reached[node]) out.push(skip);
  out.sort((a, b) => byString(skipKey(a), skipKey(b)));
  const groups = [...graph.groups.keys()].filter((n) => reached[n]);
  groups.sort((a, b) => byString(graph.groups.get(a)!.id, graph.groups.get(b)!.id) || byString(graph.groups.get(a)!.dn, graph.groups.get(b)!.dn));
  out.push(...unresolvedMembers(graph, groups));
  return out;
}

/** One skipped entry per member value that cannot be resolved, naming its group; the first UNRESOLVED_LISTED, then a count. */
function unresolvedMembers(graph: ScopeGraph, groupNodes: readonly number[]): SkippedEntry[] {
  const out: SkippedEntry[] = [];
  let total = 0;
  for (const node of groupNodes) {
    const g = graph.groups.get(node)!;
    for (const m of g.members) {
      const kind = graph.nodeKind[m];
      if (kind !== DANGLING && kind !== INVALID) continue;
      total++;
      if (out.length >= UNRESOLVED_LISTED) continue;
      const reason = kind === DANGLING
        ? `member "${graph.nodeDn[m]}" names no entry (dangling); left out of the group`
        : `member "${graph.nodeDn[m]}" is not a DN (${graph.invalidReason.get(m)}); left out of the group`;
      out.push({ ref: g.dn, reason, kind: 'member' });
    }
  }
  if (total > out.length) {
    out.push({ ref: 'member values', kind: 'member', reason: `${total - out.length} more member values name no entry or are not DNs (${total} in all); the first ${out.length} are listed` });
  }
  return out;
}
