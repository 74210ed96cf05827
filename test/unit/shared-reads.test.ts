import { describe, expect, it } from 'vitest';
import { SharedReads } from '../../src/ops/shared-reads.ts';

describe('SharedReads: concurrent readers of the same state share one read', () => {
  it('a second reader while a read runs gets that read; after it finished, a new read starts', async () => {
    const reads = new SharedReads<string, number>();
    let loads = 0;
    let release!: () => void;
    const load = () => {
      loads += 1;
      return new Promise<number>((resolve) => (release = () => resolve(loads)));
    };
    const first = reads.read('corp', load);
    const second = reads.read('corp', load);
    expect(loads).toBe(1);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 1]);
    const third = reads.read('corp', load);
    release();
    expect(await third).toBe(2);
  });

  it('different keys read separately, and a failed read is not kept', async () => {
    const reads = new SharedReads<string, string>();
    await expect(reads.read('a', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await reads.read('a', async () => 'up')).toBe('up');
    const [a, b] = await Promise.all([reads.read('a', async () => 'A'), reads.read('b', async () => 'B')]);
    expect([a, b]).toEqual(['A', 'B']);
  });
});
