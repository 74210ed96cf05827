import { describe, expect, it } from 'vitest';
import { SortedIds } from '../../src/domain/sorted-ids.ts';

describe('SortedIds (a local group\'s members as one Int32Array)', () => {
  it('holds each id once, whatever the order and repeats it was given in', () => {
    const ids = SortedIds.of([42, 7, 1_000_000, 7, 3, 42]);
    expect(ids.size).toBe(4);
    expect([...ids]).toEqual([3, 7, 42, 1_000_000]);
  });

  it.each([
    [[], 5, false],
    [[5], 5, true],
    [[5], 4, false],
    [[1, 3, 5, 7, 9], 1, true],
    [[1, 3, 5, 7, 9], 9, true],
    [[1, 3, 5, 7, 9], 6, false],
    [[1, 3, 5, 7, 9], 10, false],
    [[1, 3, 5, 7, 9], 0, false],
    [[2_147_483_647, 1], 2_147_483_647, true],
  ])('of(%j).has(%d) is %s', (values, id, found) => {
    expect(SortedIds.of(values).has(id)).toBe(found);
  });

  it('answers as a Set of the same ids would, over a large random sample', () => {
    let seed = 1;
    const next = () => (seed = (Math.imul(seed, 48271) % 2147483647) >>> 0) % 50_000;
    const values = Array.from({ length: 20_000 }, next);
    const set = new Set(values);
    const ids = SortedIds.of(values);
    expect(ids.size).toBe(set.size);
    for (let k = 0; k < 50_000; k++) expect(ids.has(k)).toBe(set.has(k));
  });
});
