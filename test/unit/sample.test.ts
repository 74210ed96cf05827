import { describe, expect, it } from 'vitest';
import { fairShares } from '../../src/sync/sample.ts';

describe('fairShares: the approval sample gives each kind of removal its share', () => {
  it.each([
    { what: 'memberships only', lengths: [0, 0, 54_251], size: 10, shares: [0, 0, 10] },
    { what: 'many of each', lengths: [40, 600, 54_251], size: 10, shares: [4, 3, 3] },
    { what: 'one group, many users and memberships', lengths: [1, 600, 900], size: 10, shares: [1, 5, 4] },
    { what: 'fewer than the size', lengths: [1, 2, 3], size: 10, shares: [1, 2, 3] },
    { what: 'nothing', lengths: [0, 0, 0], size: 10, shares: [0, 0, 0] },
  ])('$what', ({ lengths, size, shares }) => {
    expect(fairShares(lengths, size)).toEqual(shares);
  });
});
