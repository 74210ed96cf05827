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
import { RecordSum, feed, recordA, recordB, startRecord } from '../../../domain/record-hash.ts';
import { reachedNodes } from './expand.ts';
import { DANGLING, GROUP, INVALID, OTHER, type ScopeGraph, UNKNOWN, USER } from './graph.ts';

export function graphDigest(graph: ScopeGraph): string | null {
  const reached = reachedNodes(graph);
  for (const node of graph.linked) reached[node] = 1;
  const keyA = new Uint32Array(graph.size);
  const keyB = new Uint32Array(graph.size);
  for (let k = 0; k < graph.size; k++) {
    if (!reached[k]) continue;
    const kind = graph.nodeKind[k];
    if (kind === UNKNOWN || kind === DANGLING || kind === INVALID) return null;
    startRecord();
    feed(graph.nodeKey[k]!);
    keyA[k] = recordA();
    keyB[k] = recordB();
  }
  if (!uniqueUserIds(graph, reached)) return null;
  const sum = new RecordSum();
  for (let k = 0; k < graph.size; k++) {
    if (!reached[k]) continue;
    startRecord();
    feed(graph.nodeKey[k]!);
    feed(String(graph.nodeKind[k]));
    feed(graph.linked.has(k) ? 'linked' : null);
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
    feed(u.id);
    feed(u.dn);
    feed(u.login);
    feed(u.mail);
    feed(u.displayName);
    feed(u.enabled ? '1' : '0');
  } else if (kind === GROUP) {
    const g = graph.groups.get(k)!;
    feed(g.id);
    feed(g.dn);
    feed(g.name);
    feed(g.description);
    // The member keys as a multiset: the count and the sums of their hashes.
    let a = 0;
    let b = 0;
    for (const m of g.members) {
      a = (a + keyA[m]!) | 0;
      b = (b + keyB[m]!) | 0;
    }
    feed(`${g.members.length}:${a}:${b}`);
  } else if (kind === OTHER) {
    const skip = graph.nodeSkip.get(k);
    feed(skip ? `${skip.kind ?? ''}\u0000${skip.ref}\u0000${skip.reason}\u0000${skip.id ?? ''}` : null);
  }
}

/** Whether no two reached users share an id. */
function uniqueUserIds(graph: ScopeGraph, reached: Uint8Array): boolean {
  const ids = new Set<string>();
  let count = 0;
  for (const [node, user] of graph.users) {
    if (!reached[node]) continue;
    ids.add(user.id);
    count++;
  }
  return ids.size === count;
}
