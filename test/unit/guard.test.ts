import { describe, expect, it } from 'vitest';
import { guardPlan, type ThresholdConfig } from '../../src/sync/guard.ts';
import type { SyncPlan } from '../../src/sync/plan.ts';

const LIMITS = { maxCount: 500, maxPercent: 10, minObjects: 100 };
const DEFAULTS: ThresholdConfig = { ...LIMITS, memberships: LIMITS };

/**
 * A plan with `deletes` group deletions and `deactivations` user deactivations, over `objects`
 * objects; `removed` memberships removed of `memberships`, and `membersOfDeleted` members in each deleted group.
 */
function plan(deletes: number, deactivations: number, objects: number, m: { removed?: number; memberships?: number; membersOfDeleted?: number } = {}): SyncPlan {
  return {
    connection: 'corp',
    groups: {
      create: [],
      update: [],
      delete: Array.from({ length: deletes }, (_, k) => ({ linkId: k + 1, localGroupId: k + 1, directoryId: `g${k}`, name: `group-${k}`, members: m.membersOfDeleted ?? 0 })),
      duplicates: [],
      relink: [],
    },
    users: {
      create: [],
      map: [],
      update: [],
      conflicts: [],
      unmapped: [],
      deactivate: Array.from({ length: deactivations }, (_, k) => ({ localUserId: k + 1, directoryId: `u${k}`, login: `user${k}`, reason: 'left the scope' })),
      refresh: [],
      ignored: 0,
    },
    memberships: {
      addGroup: [],
      addUser: [],
      removeGroup: Array.from({ length: m.removed ?? 0 }, () => 1000),
      removeUser: Array.from({ length: m.removed ?? 0 }, (_, k) => k + 1),
    },
    skipped: [],
    objectCount: objects,
    membershipCount: m.memberships ?? 0,
  };
}

describe('guardPlan', () => {
  it.each([
    // by count: more than 500 removals, whatever the percentage
    { what: '501 deactivations of 100,000 objects (0.5 %)', deletes: 0, deactivations: 501, objects: 100_000, action: 'hold', reason: /501 deletions and deactivations exceed the limit of 500/ },
    { what: '300 deletions + 201 deactivations of 100,000 objects', deletes: 300, deactivations: 201, objects: 100_000, action: 'hold', reason: /501 .* limit of 500/ },
    { what: 'exactly 500 removals of 100,000 objects', deletes: 0, deactivations: 500, objects: 100_000, action: 'apply' },
    // by percent: more than 10 % once there are at least 100 objects
    { what: '11 of 100 objects (11 %)', deletes: 1, deactivations: 10, objects: 100, action: 'hold', reason: /11 deletions and deactivations are 11\.0 % of 100 objects, above the limit of 10 %/ },
    { what: '10 of 100 objects (exactly 10 %)', deletes: 0, deactivations: 10, objects: 100, action: 'apply' },
    { what: '101 of 1,000 objects (10.1 %)', deletes: 0, deactivations: 101, objects: 1000, action: 'hold', reason: /10\.1 %/ },
    { what: '100 of 1,000 objects (10 %)', deletes: 0, deactivations: 100, objects: 1000, action: 'apply' },
    // not by percent under 100 objects
    { what: '50 of 99 objects (51 %, under the minimum)', deletes: 5, deactivations: 45, objects: 99, action: 'apply' },
    { what: '10 of 10 objects (100 %, under the minimum)', deletes: 0, deactivations: 10, objects: 10, action: 'apply' },
    // under threshold
    { what: '3 of 1,000 objects', deletes: 1, deactivations: 2, objects: 1000, action: 'apply' },
    { what: 'no removal', deletes: 0, deactivations: 0, objects: 1000, action: 'apply' },
  ])('$what → $action', ({ deletes, deactivations, objects, action, reason }) => {
    const verdict = guardPlan(plan(deletes, deactivations, objects), 10, 10, DEFAULTS);
    expect(verdict.action).toBe(action);
    expect(verdict.removals).toBe(deletes + deactivations);
    if (verdict.action === 'hold') {
      expect(verdict.reason).toMatch(reason!);
      expect(verdict.objects).toBe(objects);
    }
  });

  it.each([
    { what: '0 groups read while linked groups would be deleted', groups: 0, users: 5, deletes: 3, deactivations: 0, reason: /no linked group, which would delete all 3 linked groups/ },
    { what: '0 groups read, even for a single deletion under every threshold', groups: 0, users: 0, deletes: 1, deactivations: 0, reason: /no linked group/ },
    { what: '0 users read while users would be deactivated', groups: 4, users: 0, deletes: 0, deactivations: 2, reason: /no user, which would deactivate all 2 users/ },
  ])('an empty read is held: $what', ({ groups, users, deletes, deactivations, reason }) => {
    const verdict = guardPlan(plan(deletes, deactivations, 20), groups, users, DEFAULTS);
    expect(verdict).toMatchObject({ action: 'hold', removals: deletes + deactivations });
    if (verdict.action === 'hold') expect(verdict.reason).toMatch(reason);
  });

  it.each([
    { what: '0 groups and nothing to remove', groups: 0, users: 0 },
    { what: '0 users and nothing to remove', groups: 3, users: 0 },
  ])('an empty read with no removal applies: $what', ({ groups, users }) => {
    expect(guardPlan(plan(0, 0, 0), groups, users, DEFAULTS)).toEqual({ action: 'apply', removals: 0, memberships: 0 });
  });

  it.each([
    { what: 'maxCount 0 holds any removal', threshold: { maxCount: 0, maxPercent: 100, minObjects: 1_000_000 }, removals: 1, objects: 1000, action: 'hold' },
    { what: 'a raised maxCount', threshold: { maxCount: 2000, maxPercent: 100, minObjects: 100 }, removals: 1500, objects: 3000, action: 'apply' },
    { what: 'a lowered minObjects', threshold: { maxCount: 500, maxPercent: 10, minObjects: 10 }, removals: 2, objects: 10, action: 'hold' },
    { what: 'a raised maxPercent', threshold: { maxCount: 500, maxPercent: 50, minObjects: 100 }, removals: 50, objects: 100, action: 'apply' },
  ])('configurable thresholds: $what', ({ threshold, removals, objects, action }) => {
    expect(guardPlan(plan(0, removals, objects), 5, 5, { ...threshold, memberships: LIMITS }).action).toBe(action);
  });
});

describe('guardPlan: removed memberships', () => {
  it.each([
    // by count: more than 500 removed memberships, whatever the percentage
    { what: '501 of 200,000 memberships (0.25 %)', removed: 501, memberships: 200_000, action: 'hold', reason: /501 removed memberships exceed the limit of 500/ },
    { what: 'exactly 500 of 200,000 memberships', removed: 500, memberships: 200_000, action: 'apply' },
    // by percent: more than 10 % once the connection has at least 100 memberships
    { what: '54,251 of 181,496 memberships (30 %: the reported case)', removed: 54_251, memberships: 181_496, action: 'hold', reason: /54251 removed memberships exceed the limit of 500/ },
    { what: '11 of 100 memberships (11 %)', removed: 11, memberships: 100, action: 'hold', reason: /11 removed memberships are 11\.0 % of 100 memberships, above the limit of 10 %/ },
    { what: '10 of 100 memberships (exactly 10 %)', removed: 10, memberships: 100, action: 'apply' },
    { what: '50 of 99 memberships (under the minimum)', removed: 50, memberships: 99, action: 'apply' },
    { what: 'no removal', removed: 0, memberships: 1000, action: 'apply' },
  ])('$what → $action', ({ removed, memberships, action, reason }) => {
    const verdict = guardPlan(plan(0, 0, 1000, { removed, memberships }), 10, 10, DEFAULTS);
    expect(verdict).toMatchObject({ action, removals: 0, memberships: removed });
    if (verdict.action === 'hold') expect(verdict.reason).toMatch(reason!);
  });

  it("counts a deleted group's members as removed memberships", () => {
    // 2 groups deleted (within the object limits) with 300 members each: 600 memberships go.
    const verdict = guardPlan(plan(2, 0, 1000, { memberships: 100_000, membersOfDeleted: 300 }), 10, 10, DEFAULTS);
    expect(verdict).toMatchObject({ action: 'hold', removals: 2, memberships: 600 });
    if (verdict.action === 'hold') expect(verdict.reason).toMatch(/600 removed memberships exceed the limit of 500/);
  });

  it('names every limit a plan breaks: deletions and removed memberships both', () => {
    // A deleted group of 280 members: 121 of 1,005 objects (12 %) and 280 of 1,400 memberships (20 %).
    const verdict = guardPlan(plan(1, 120, 1005, { memberships: 1400, membersOfDeleted: 280 }), 10, 10, DEFAULTS);
    expect(verdict.action).toBe('hold');
    if (verdict.action === 'hold') {
      expect(verdict.reason).toMatch(/121 deletions and deactivations are 12\.0 % of 1005 objects/);
      expect(verdict.reason).toMatch(/280 removed memberships are 20\.0 % of 1400 memberships/);
    }
  });

  it('has limits of its own', () => {
    const threshold: ThresholdConfig = { ...LIMITS, memberships: { maxCount: 5000, maxPercent: 50, minObjects: 100 } };
    expect(guardPlan(plan(0, 0, 1000, { removed: 4000, memberships: 10_000 }), 10, 10, threshold).action).toBe('apply');
    expect(guardPlan(plan(0, 0, 1000, { removed: 5001, memberships: 100_000 }), 10, 10, threshold).action).toBe('hold');
    expect(guardPlan(plan(0, 0, 1000, { removed: 51, memberships: 100 }), 10, 10, threshold).action).toBe('hold');
  });
});
