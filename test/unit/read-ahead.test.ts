import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/directory/ldap/read-ahead.ts';

/** Pages served by a plain generator that records when each one is asked for. */
function pager(count: number, log: string[], failAt = -1): AsyncGenerator<number> {
  return (async function* () {
    for (let k = 0; k < count; k++) {
      log.push(`ask ${k}`);
      await new Promise((resolve) => setImmediate(resolve));
      if (k === failAt) throw new Error(`page ${k} failed`);
      yield k;
    }
  })();
}

describe('readAhead', () => {
  it('asks for the next page before the reader has reduced the current one', async () => {
    const log: string[] = [];
    for await (const page of readAhead(pager(3, log))) {
      log.push(`reduce ${page}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(log).toEqual(['ask 0', 'ask 1', 'reduce 0', 'ask 2', 'reduce 1', 'reduce 2']);
  });

  it('counts one request per page received', async () => {
    let requests = 0;
    const pages: number[] = [];
    for await (const page of readAhead(pager(4, []), () => requests++)) pages.push(page);
    expect(pages).toEqual([0, 1, 2, 3]);
    expect(requests).toBe(4);
  });

  it('hands a failed page to the reader in order, after the pages before it', async () => {
    const pages: number[] = [];
    await expect(
      (async () => {
        for await (const page of readAhead(pager(5, [], 2))) pages.push(page);
      })(),
    ).rejects.toThrow('page 2 failed');
    expect(pages).toEqual([0, 1]);
  });

  it('leaves no unhandled failure when the reader stops while the next page fails', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      for await (const page of readAhead(pager(3, [], 1))) {
        if (page === 0) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          break;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});
