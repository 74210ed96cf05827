/** Times that reach a person in a refusal or a notice use the one format of the cards ("2 h ago, 22:01 UTC"). */
import { describe, expect, it } from 'vitest';
import { describePause } from '../../src/sync/paused.ts';

describe('times in refusals', () => {
  it('a pause says since when in the one time format', () => {
    const text = describePause('corp', { at: new Date(Date.now() - 2 * 3_600_000), by: 'cli:root' });
    expect(text).toMatch(/^"corp" is paused since 2 h ago, (\d{4}-\d\d-\d\d )?\d\d:\d\d UTC by cli:root/);
  });
});
