import { describe, expect, it } from 'vitest';
import { NOT_A_USER, provideMemberIndex, snapshotIndex } from '../../src/domain/snapshot-index.ts';
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from '../../src/domain/types.ts';
import { groupDigest, snapshotDigests } from '../../src/sync/plan/digest.ts';

const user = (id: string): DirectoryUser => ({ id, dn: `uid=${id},ou=people,dc=example,dc=org`, login: id, mail: `${id}@example.org`, displayName: id, enabled: true });
const group = (id: string, memberIds: string[]): DirectoryGroup => ({ id, dn: `cn=${id},ou=groups,dc=example,dc=org`, name: id, description: null, memberIds });
const snapshot = (users: DirectoryUser[], groups: DirectoryGroup[]): DirectorySnapshot => ({ vendor: 'openldap', users, groups, skipped: [], certificate: null });

/** A seeded snapshot with what a read can hold: a user id twice, a group id twice, member ids of no user, empty groups, repeats. */
function randomSnapshot(seed: number): DirectorySnapshot {
  const next = (n: number) => (seed = (Math.imul(seed, 48271) % 2147483647) >>> 0) % n;
  const users = Array.from({ length: 300 }, (_, i) => user(`u${i}-${'x'.repeat(next(40))}`));
  users.push(users[next(300)]!, user(users[next(300)]!.id)); // the same id read twice
  const ids = [...users.map((u) => u.id), 'stray-1', 'stray-2', 'ü-non-ascii'];
  const groups = Array.from({ length: 60 }, (_, i) => group(`g${i}`, Array.from({ length: next(50) }, () => ids[next(ids.length)]!)));
  groups.push(group('g3', [ids[0]!]), group('empty', []));
  return snapshot(users, groups);
}

describe('the snapshot index (users numbered, members as numbers)', () => {
  it('numbers each member by the first record of its user; a member id of no user is NOT_A_USER', () => {
    const s = snapshot([user('a'), user('b'), user('a')], [group('g', ['b', 'a', 'nobody', 'a'])]);
    const { userIndex, members } = snapshotIndex(s);
    expect([...userIndex]).toEqual([['a', 0], ['b', 1]]);
    expect([...members[0]!]).toEqual([1, 0, NOT_A_USER, 0]);
    expect(snapshotIndex(s)).toBe(snapshotIndex(s)); // built once per snapshot
  });

  it("takes a reader's member numbers for a snapshot holding the arrays it gave them for, and only for it", () => {
    const users = [user('a'), user('b')];
    const groups = [group('g', ['b', 'a'])];
    const members = [Int32Array.of(1, 0)];
    provideMemberIndex(users, groups, members);
    expect(snapshotIndex(snapshot(users, groups)).members).toBe(members);
    expect(snapshotIndex(snapshot(users, groups)).userIndex.get('b')).toBe(1);
    // Narrowed or validated (other arrays): built from the member ids.
    expect(snapshotIndex(snapshot(users, groups.filter(() => true))).members).not.toBe(members);
    expect(snapshotIndex(snapshot([...users], groups)).members).not.toBe(members);
    expect([...snapshotIndex(snapshot([...users], groups)).members[0]!]).toEqual([1, 0]);
  });

  it.each([1, 2, 3, 4, 5])('member digests through the index equal groupDigest of each group (seed %d)', (seed) => {
    const s = randomSnapshot(seed);
    const digests = snapshotDigests(s);
    const last = new Map(s.groups.map((g) => [g.id, g]));
    expect(digests.groups.size).toBe(last.size);
    for (const [id, g] of last) expect(digests.groups.get(id), id).toBe(groupDigest(g));
  });
});
