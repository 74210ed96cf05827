/** Text shown to admins, shared by the core and the surfaces: times and counts. */

/** A time as admins read it: 2026-11-30 11:30 UTC. */
export function formatUtc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** `1 member`, `2 members`. */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
