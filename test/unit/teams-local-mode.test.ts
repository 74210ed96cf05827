/** Teams local mode (no app id) serves this machine only: the loopback test. */
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../src/chat/teams/bot.ts';

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.10.0.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['192.168.1.20', false],
    ['::ffff:10.1.2.3', false],
    ['fe80::1', false],
    ['1270.0.0.1', false],
    [undefined, false],
    ['', false],
  ])('%s → %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });
});
