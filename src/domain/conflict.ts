/**
 * Why a directory user is in conflict, from its local candidates (users with its match key that
 * no other directory user holds). No candidate: another directory user has the same key (it holds
 * the local user, or shares the key with this one and no local user has it). One candidate: two
 * directory users share the key of one local user, so neither takes it. More: several local users
 * have the key.
 */
export function conflictReason(candidates: number): string {
  if (candidates === 0) return 'another directory user has the same key';
  if (candidates === 1) return 'another directory user has the same key as its one local candidate';
  return `${candidates} local users have the same key`;
}
