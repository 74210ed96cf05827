/**
 * A digest of what a read's answer is made from, taken from the graph before the answer is built
 * (expand.ts): when it equals the digest the last applying run's read left in the cursor, the
 * directory reads as it did then, and the source can say "unchanged" without building the answer
 * (about 0.5 s and the answer's memory at 100,000 users, its digests included).
 *
 * The answer is a function of the nodes reached from the linked groups, each named by its key
 * (the normalised DN), whatever number the read gave it: its kind, whether it is linked, a user's
 * or a group's record, a skipped entry's reason, a group's member keys (as a multiset: expansion
 * neither orders nor counts them), and the entries whose DN cannot be parsed. The digest is the
 * order-free sum of one record hash per such node (record-hash.ts), so the order of the server's
 * entries and values does not matter. A collision would only hide a change until the next read
 * that differs or the next `sync --full`; at 2^-64 it is not expected.
 *
 * There is no digest (null) where the answer depends on more than that: a node not classified, a
 * member value that names no entry or is not a DN (the answer lists the first values met, in the
 * server's order), or two users with one id (the answer keeps the first record).
 */
import type { DirectoryUser } from '../../../domain/types.ts';
import { RecordSum, feed, feedInt, hashSummand, mixedLaneA, mixedLaneB, startRecord } from '../../../domain/record-hash.ts';
import { reachedNodes } from './expand.ts';
import { DANGLING, GROUP, INVALID, OTHER, type ScopeGraph, UNKNOWN, USER } from './graph.ts';

/**
 * The graph's digest, or null (see the module comment). Two users with one id are not looked for
 * here: the caller checks that only where it matters (uniqueUserIds before it answers
 * "unchanged", idsUnique on the answer's users, sorted by id, before it keeps the digest).
 */
export function graphDigest(graph: ScopeGraph): string | null {
  const reached = reachedNodes(graph);
  const keyA = new Uint32Array(graph.size);
  const keyB = new Uint32Array(graph.size);
  for (let k = 0; k < graph.size; k++) {
    if (!reached[k]) continue;
    const kind = graph.nodeKind[k];
    if (kind === UNKNOWN || kind === DANGLING || kind === INVALID) return null;
    // A group's members are summed.
    hashSummand(graph.nodeKey[k]!);
    keyA[k] = mixedLaneA();
    keyB[k] = mixedLaneB();
  }
  const sum = new RecordSum();
  for (let k = 0; k < graph.size; k++) {
    if (!reached[k]) continue;
    startRecord();
    feedInt(keyA[k]!);
    feedInt(keyB[k]!);
    feedInt(graph.nodeKind[k]!);
    feedInt(graph.linked.has(k) ? 1 : 0);
    nodeFields(graph, k, keyA, keyB);
    sum.addRecord();
  }
  for (const loose of graph.loose) sum.add('loose', loose.ref, loose.reason, loose.kind ?? null, loose.id ?? null);
  return `${sum.records}:${sum.hex()}`;
}

/** Feeds what the answer takes from node `k` besides its key, kind and link. */
function nodeFields(graph: ScopeGraph, k: number, keyA: Uint32Array, keyB: Uint32Array): void {
  const kind = graph.nodeKind[k];
  if (kind === USER) {
    const u = graph.users.get(k)!;
    field(u.id);
    field(u.dn);
    field(u.login);
    field(u.mail);
    field(u.displayName);
    feedInt(u.enabled ? 1 : 0);
  } else if (kind === GROUP) {
    const g = graph.groups.get(k)!;
    field(g.id);
    field(g.dn);
    field(g.name);
    field(g.description);
    // The member keys as a multiset: the count and the sums of their hashes.
    let a = 0;
    let b = 0;
    for (const m of g.members) {
      a = (a + keyA[m]!) | 0;
      b = (b + keyB[m]!) | 0;
    }
    feedInt(g.members.length);
    feedInt(a);
    feedInt(b);
  } else if (kind === OTHER) {
    const skip = graph.nodeSkip.get(k);
    feedInt(skip ? 1 : 0);
    if (skip) for (const value of [skip.kind ?? null, skip.ref, skip.reason, skip.id ?? null]) field(value);
  }
}

/** A value and its length: a value may hold the NUL that ends one in feed ("x\0y" + "z" is not "x" + "y\0z"). */
function field(value: string | null): void {
  feed(value);
  feedInt(value === null ? -1 : value.length);
}

/** Whether no two users the graph reaches share an id. */
export function uniqueUserIds(graph: ScopeGraph): boolean {
  const reached = reachedNodes(graph);
  const ids = new Set<string>();
  let count = 0;
  for (const [node, user] of graph.users) {
    if (!reached[node]) continue;
    ids.add(user.id);
    count++;
  }
  return ids.size === count;
}

/** Whether no two of an answer's users (sorted by id) share an id. */
export function idsUnique(users: readonly DirectoryUser[]): boolean {
  for (let k = 1; k < users.length; k++) if (users[k]!.id === users[k - 1]!.id) return false;
  return true;
}
