/** MemberRefs: the planner's directory user → local user refs, by snapshot index. */
import { describe, expect, it } from 'vitest';
import { snapshotIndex } from '../../src/domain/snapshot-index.ts';
import { MemberRefs } from '../../src/sync/plan/member-refs.ts';
import { group, snapshot, user } from '../support/plan-state.ts';

describe('MemberRefs', () => {
  // "ann" is read twice: the index (and so the ref) is its first record's.
  const snap = snapshot([group('g1', 'one', ['ann', 'bob', 'nobody', 'cy'])], [user('ann'), user('bob'), user('ann'), user('cy')]);

  it('gives each member of a group its ref: a local user, itself when created, nothing when unmapped or not a user', () => {
    const refs = new MemberRefs(snap);
    refs.set('ann', 7);
    refs.set('cy', 'cy');
    refs.set('not-in-the-snapshot', 9);
    const [members] = snapshotIndex(snap).members;
    expect([...members!].map((i) => refs.at(i))).toEqual([7, undefined, undefined, 'cy']);
    expect([...refs.entries()]).toEqual([['ann', 7], ['cy', 'cy']]);
  });

  it('refuses a created ref that is not the user itself', () => {
    expect(() => new MemberRefs(snap).set('bob', 'ann')).toThrow(/follow itself/);
  });
});
