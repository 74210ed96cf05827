/** Text shown to admins, shared by the core and the surfaces: times and counts. */

/** A time as admins read it: 2026-11-30 11:30 UTC. */
export function formatUtc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}


const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** "2 h ago", "in 5 min", "just now": the largest whole unit of the distance between `at` and `now`. */
export function relativeTime(at: Date, now: Date): string {
  const diff = now.getTime() - at.getTime();
  const abs = Math.abs(diff);
  const [unit, size] = UNITS.find(([, ms]) => abs >= ms) ?? ['s', 1000];
  const n = Math.floor(abs / size);
  if (n === 0) return 'just now';
  return diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/**
 * The one time format of every card: relative time, then the UTC time; the date is added when it
 * is not today's ("2 h ago, 22:01 UTC", "3 d ago, 2026-12-04 08:00 UTC"). `now` is the clock of the
 * request (tests pass a fixed one).
 */
export function formatTime(d: Date | string | null | undefined, now: Date = new Date()): string {
  if (!d) return '—';
  const at = typeof d === 'string' ? new Date(d) : d;
  const utc = formatUtc(at);
  const sameDay = utc.slice(0, 10) === now.toISOString().slice(0, 10);
  return `${relativeTime(at, now)}, ${sameDay ? utc.slice(11) : utc}`;
}

/** `1 member`, `2 members`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
