/**
 * Digests of what a run read, compared with those the store kept from the last full-scope run:
 * a directory user's synced attributes, and a group's expanded member set. Equal digests let
 * the store state loader leave out the rows of unchanged users and groups (store/sync-state.ts).
 *
 * A 64-bit non-cryptographic hash (domain/record-hash.ts). A group's digest is order-free (a sum
 * of its members' hashes), so no member list is sorted. A collision would only hide a change
 * until the next full reconciliation; at 2^-64 per changed object it is not expected in the life
 * of a deployment.
 */
import { RecordSum, feed, hashSummand, hex32 as hex, mixedLaneA, mixedLaneB, recordA, recordB, startRecord } from '../../domain/record-hash.ts';
import { NOT_A_USER, snapshotIndex } from '../../domain/snapshot-index.ts';
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from '../../domain/types.ts';
import type { DigestWrites, SnapshotDigests, StoreState, SyncPlan } from '../../domain/plan.ts';

export type { DigestWrites, SnapshotDigests } from '../../domain/plan.ts';

export function userDigest(u: DirectoryUser): string {
  startRecord();
  feed(u.dn);
  feed(u.login);
  feed(u.mail);
  feed(u.displayName);
  feed(u.enabled ? '1' : '0');
  return hex(recordA()) + hex(recordB());
}

/** Order-free digest of a member set: the count and the two lanes' sums of the members' hashes. */
export function groupDigest(g: DirectoryGroup): string {
  let sumA = 0;
  let sumB = 0;
  for (const id of g.memberIds) {
    hashSummand(id);
    sumA = (sumA + mixedLaneA()) | 0;
    sumB = (sumB + mixedLaneB()) | 0;
  }
  return `${g.memberIds.length}:${hex(sumA)}${hex(sumB)}`;
}

/** Sums of the record hashes of a whole snapshot (order-free), and how many records went in. */
class WholeDigest extends RecordSum {
  value(users: number, groups: number): string {
    return `${users}:${groups}:${this.records}:${this.hex()}`;
  }
}

/**
 * The digests of a snapshot's users and groups. A group's is groupDigest's, with each user's id
 * hashed once (not once per group it is in) through the snapshot's index. `whole` sums a hash of
 * each user record (its id and digest: every record, a repeated id too) and of each group (id,
 * DN, name, description, member digest).
 */
export function snapshotDigests(snapshot: DirectorySnapshot): SnapshotDigests {
  const users = new Map<string, string>();
  const whole = new WholeDigest();
  const laneA = new Uint32Array(snapshot.users.length);
  const laneB = new Uint32Array(snapshot.users.length);
  snapshot.users.forEach((u, i) => {
    const digest = userDigest(u);
    users.set(u.id, digest);
    whole.add('u', u.id, digest);
    hashSummand(u.id);
    laneA[i] = mixedLaneA();
    laneB[i] = mixedLaneB();
  });
  const { members } = snapshotIndex(snapshot);
  const groups = new Map<string, string>();
  snapshot.groups.forEach((g, i) => {
    let sumA = 0;
    let sumB = 0;
    const of = members[i]!;
    for (let k = 0; k < of.length; k++) {
      const u = of[k]!;
      if (u === NOT_A_USER) hashSummand(g.memberIds[k]!);
      sumA = (sumA + (u === NOT_A_USER ? mixedLaneA() : laneA[u]!)) | 0;
      sumB = (sumB + (u === NOT_A_USER ? mixedLaneB() : laneB[u]!)) | 0;
    }
    const digest = `${of.length}:${hex(sumA)}${hex(sumB)}`;
    groups.set(g.id, digest);
    whole.add('g', g.id, g.dn, g.name, g.description, digest);
  });
  return { users, groups, whole: whole.value(snapshot.users.length, snapshot.groups.length) };
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

/**
 * What a full-scope run stores once its plan is applied: the attribute digest of each user it
 * leaves mapped, the member digest of each group whose memberships it planned (only those that
 * differ from the stored ones, so a run that changes nothing writes nothing). The users this
 * plan creates with a mapping row of their own (none before: `known` false) are kept apart: the
 * plan is applied now, under the run lock, so no digest of theirs can exist (a first sync's
 * digests are then copied, not upserted through a join).
 */
export function digestWrites(snapshot: DirectorySnapshot, state: StoreState, plan: SyncPlan, digests: SnapshotDigests): DigestWrites {
  const out: DigestWrites = { users: { ids: [], digests: [] }, newUsers: { ids: [], digests: [] }, groups: { ids: [], digests: [] } };
  const mappedNow = new Set<string>([...plan.users.map.map((u) => u.directoryId), ...plan.users.create.map((u) => u.directoryId)]);
  const fresh = new Set(plan.users.create.flatMap((u) => (u.known ? [] : [u.directoryId])));
  for (const [id, digest] of digests.users) {
    if (state.stableUsers?.has(id)) continue;
    const m = state.mappings.get(id);
    const mapped = mappedNow.has(id) || (m?.status === 'mapped' && m.localUserId !== null);
    if (mapped && m?.digest !== digest) {
      const to = fresh.has(id) ? out.newUsers : out.users;
      to.ids.push(id);
      to.digests.push(digest);
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
