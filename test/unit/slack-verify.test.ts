/**
 * The Slack gate's signature check (issue 10 #7): a correctly signed request is accepted only
 * when its timestamp is within five minutes of now, in the past or in the future; the valid
 * signature's digest is the key the request acts once under (#8).
 */
import { describe, expect, it } from 'vitest';
import { MAX_CLOCK_SKEW_SECONDS, checkSignature } from '../../src/chat/slack/verify.ts';
import { SIGNING_SECRET, sign } from '../support/slack.ts';

const NOW = 1_800_000_000; // seconds
const BODY = Buffer.from('token=x&command=%2Fgroupsync&text=sync+corp&user_id=U1');

function check(offsetSeconds: number, options: { body?: Buffer; signature?: string; timestamp?: string | null } = {}) {
  const ts = NOW + offsetSeconds;
  const timestamp = options.timestamp === undefined ? String(ts) : options.timestamp;
  const signature = options.signature ?? sign((options.body ?? BODY).toString('utf8'), ts);
  return checkSignature(SIGNING_SECRET, timestamp, signature, options.body ?? BODY, NOW * 1000);
}

describe('checkSignature: the timestamp within five minutes either way', () => {
  it('allows five minutes of clock skew', () => {
    expect(MAX_CLOCK_SKEW_SECONDS).toBe(300);
  });

  it.each([
    { what: 'now', offset: 0 },
    { what: '2 minutes ahead', offset: 120 },
    { what: 'exactly 5 minutes ahead', offset: 300 },
    { what: '2 minutes old', offset: -120 },
    { what: 'exactly 5 minutes old', offset: -300 },
  ])('accepts a signed request dated $what', ({ offset }) => {
    const result = check(offset);
    expect(result).toEqual({ ok: true, digest: sign(BODY.toString('utf8'), NOW + offset).slice(3) });
  });

  it.each([
    { what: '5 minutes and 1 second ahead', offset: 301, reason: 'timestamp in the future by 301 s' },
    { what: '6 minutes ahead', offset: 360, reason: 'timestamp in the future by 360 s' },
    { what: 'an hour ahead', offset: 3600, reason: 'timestamp in the future by 3600 s' },
    { what: 'a day ahead', offset: 86_400, reason: 'timestamp in the future by 86400 s' },
    { what: 'a year ahead', offset: 365 * 86_400, reason: `timestamp in the future by ${365 * 86_400} s` },
    { what: '5 minutes and 1 second old', offset: -301, reason: 'timestamp too old by 301 s' },
    { what: '6 minutes old', offset: -360, reason: 'timestamp too old by 360 s' },
    { what: 'an hour old', offset: -3600, reason: 'timestamp too old by 3600 s' },
    { what: 'a day old', offset: -86_400, reason: 'timestamp too old by 86400 s' },
  ])('refuses a correctly signed request dated $what', ({ offset, reason }) => {
    expect(check(offset)).toEqual({ ok: false, reason });
  });

  it.each([
    { what: 'no timestamp', timestamp: null },
    { what: 'an empty timestamp', timestamp: '' },
    { what: 'a timestamp in milliseconds ahead of its time', timestamp: String(NOW * 1000) },
    { what: 'a negative timestamp', timestamp: `-${NOW}` },
    { what: 'a fractional timestamp', timestamp: `${NOW}.5` },
    { what: 'a timestamp with a sign', timestamp: `+${NOW}` },
    { what: 'a timestamp in hexadecimal', timestamp: `0x${NOW.toString(16)}` },
  ])('refuses $what', ({ timestamp }) => {
    expect(check(0, { timestamp }).ok).toBe(false);
  });

  it('refuses a signature made for another timestamp, another body or with another secret', () => {
    expect(check(0, { signature: sign(BODY.toString('utf8'), NOW - 1) })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(check(0, { signature: sign('token=x&command=%2Fgroupsync&text=health', NOW) })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(check(0, { signature: sign(BODY.toString('utf8'), NOW, 'another-secret') })).toEqual({ ok: false, reason: 'signature mismatch' });
    expect(check(0, { signature: sign(BODY.toString('utf8'), NOW).toUpperCase() }).ok).toBe(false);
    expect(check(0, { signature: sign(BODY.toString('utf8'), NOW).slice(3) }).ok).toBe(false);
  });
});
