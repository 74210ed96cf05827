/** One time format on every card: relative time, then the UTC time (with the date when it is another day). */
import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/chat/views/format.ts';

const NOW = new Date('2026-12-07T00:30:00Z');

describe('formatTime', () => {
  it.each([
    { what: 'null', at: null, text: '—' },
    { what: 'undefined', at: undefined, text: '—' },
    { what: 'this second', at: '2026-12-07T00:30:00Z', text: 'just now, 00:30 UTC' },
    { what: 'seconds ago', at: '2026-12-07T00:29:15Z', text: '45 s ago, 00:29 UTC' },
    { what: 'minutes ago', at: '2026-12-07T00:18:00Z', text: '12 min ago, 00:18 UTC' },
    { what: 'hours ago, across midnight', at: '2026-12-06T22:01:00Z', text: '2 h ago, 2026-12-06 22:01 UTC' },
    { what: 'hours ago, same day', at: '2026-12-07T00:00:00Z', text: '30 min ago, 00:00 UTC' },
    { what: 'days ago', at: '2026-12-04T08:00:00Z', text: '2 d ago, 2026-12-04 08:00 UTC' },
    { what: 'across the year', at: '2025-12-31T23:00:00Z', text: '340 d ago, 2025-12-31 23:00 UTC' },
    { what: 'in the future', at: '2026-12-07T00:35:00Z', text: 'in 5 min, 00:35 UTC' },
    { what: 'tomorrow', at: '2026-12-08T02:00:00Z', text: 'in 1 d, 2026-12-08 02:00 UTC' },
    { what: 'an ISO string', at: '2026-12-07T00:25:00.000Z', text: '5 min ago, 00:25 UTC' },
    { what: 'a Date', at: new Date('2026-12-06T20:30:00Z'), text: '4 h ago, 2026-12-06 20:30 UTC' },
  ])('$what → $text', ({ at, text }) => {
    expect(formatTime(at, NOW)).toBe(text);
  });

  it('an hour later the same day', () => {
    expect(formatTime('2026-12-07T22:01:00Z', new Date('2026-12-08T00:10:00Z'))).toBe('2 h ago, 2026-12-07 22:01 UTC');
    expect(formatTime('2026-12-07T20:01:00Z', new Date('2026-12-07T22:10:00Z'))).toBe('2 h ago, 20:01 UTC');
  });
});
