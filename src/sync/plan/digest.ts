/**
 * Digests of what a run read, compared with those the store kept from the last full-scope run:
 * a directory user's synced attributes, and a group's expanded member set. Equal digests let
 * the store state loader leave out the rows of unchanged users and groups (store/sync-state.ts).
 *
 * A 64-bit non-cryptographic hash (two 32-bit FNV-1a lanes with different primes): a few
 * hundred nanoseconds per user, where a crypto hash costs microseconds per call. A group's digest
 * is order-free (a sum of its members' hashes), so no member list is sorted. A collision would
 * only hide a change until the next full reconciliation; at 2^-64 per changed object it is not
 * expected in the life of a deployment.
 */
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from '../../domain/types.ts';
import type { StoreState, SyncPlan } from './types.ts';

export interface SnapshotDigests {
  /** Directory user id → digest of its synced attributes. */
  readonly users: ReadonlyMap<string, string>;
  /** Directory group id → digest of its member set. */
  readonly groups: ReadonlyMap<string, string>;
}

/** Two 32-bit lanes of FNV-1a over the string's UTF-16 code units. */
function hash64(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x2b9a3c71;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return [a >>> 0, b >>> 0];
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/** Field separator and null marker that no directory value contains (validate.ts rejects NUL). */
const SEP = '\u0000';
const NULL = '\u0001';

export function userDigest(u: DirectoryUser): string {
  const [a, b] = hash64([u.dn ?? NULL, u.login ?? NULL, u.mail ?? NULL, u.displayName ?? NULL, u.enabled ? '1' : '0'].join(SEP));
  return hex(a) + hex(b);
}

/** Order-free digest of a member set: the count and the two lanes' sums of the members' hashes. */
export function groupDigest(g: DirectoryGroup, idHash: (id: string) => [number, number] = hash64): string {
  let a = 0;
  let b = 0;
  for (const id of g.memberIds) {
    const [x, y] = idHash(id);
    a = (a + x) >>> 0;
    b = (b + y) >>> 0;
  }
  return `${g.memberIds.length}:${hex(a)}${hex(b)}`;
}

/** The digests of a snapshot's users and groups (each member id hashed once). */
export function snapshotDigests(snapshot: DirectorySnapshot): SnapshotDigests {
  const users = new Map<string, string>();
  for (const u of snapshot.users) users.set(u.id, userDigest(u));
  const ids = new Map<string, [number, number]>();
  const idHash = (id: string) => {
    let h = ids.get(id);
    if (!h) ids.set(id, (h = hash64(id)));
    return h;
  };
  const groups = new Map<string, string>();
  for (const g of snapshot.groups) groups.set(g.id, groupDigest(g, idHash));
  return { users, groups };
}

/**
 * The digests to use for a run, or null when they cannot be: a read of selected groups, or one
 * with skipped or held entries (their users' memberships are left as they are, so a group's
 * memberships are not exactly its members' then).
 */
export function digestsFor(snapshot: DirectorySnapshot, partialScope: boolean): SnapshotDigests | null {
  if (partialScope || snapshot.skipped.length > 0 || (snapshot.held?.length ?? 0) > 0) return null;
  return snapshotDigests(snapshot);
}

export interface DigestWrites {
  readonly users: { readonly ids: string[]; readonly digests: string[] };
  readonly groups: { readonly ids: string[]; readonly digests: string[] };
}

/**
 * What a full-scope run stores once its plan is applied: the attribute digest of each user it
 * leaves mapped, the member digest of each group whose memberships it planned (only those that
 * differ from the stored ones, so a run that changes nothing writes nothing).
 */
export function digestWrites(snapshot: DirectorySnapshot, state: StoreState, plan: SyncPlan, digests: SnapshotDigests): DigestWrites {
  const out: DigestWrites = { users: { ids: [], digests: [] }, groups: { ids: [], digests: [] } };
  const mappedNow = new Set<string>([...plan.users.map.map((u) => u.directoryId), ...plan.users.create.map((u) => u.directoryId)]);
  for (const [id, digest] of digests.users) {
    if (state.stableUsers?.has(id)) continue;
    const m = state.mappings.get(id);
    const mapped = mappedNow.has(id) || (m?.status === 'mapped' && m.localUserId !== null);
    if (mapped && m?.digest !== digest) {
      out.users.ids.push(id);
      out.users.digests.push(digest);
    }
  }
  const links = new Map(state.links.map((l) => [l.directoryId, l]));
  for (const [id, digest] of digests.groups) {
    if (state.unchangedGroups?.has(id) || links.get(id)?.memberDigest === digest) continue;
    out.groups.ids.push(id);
    out.groups.digests.push(digest);
  }
  return out;
}
