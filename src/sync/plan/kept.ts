/**
 * What a run leaves as it is: entries skipped for a value (by id), users reached only through a
 * skipped group (held), and users whose entry could not be read (by DN). A held group is not
 * deleted; a kept user is not deactivated nor removed from groups.
 */
import { normalizeDn } from '../../domain/dn.ts';
import type { DirectorySnapshot } from '../../domain/types.ts';
import type { MappingState, StoreState } from '../../domain/plan.ts';

export interface Kept {
  /** Directory ids held or skipped by id. */
  readonly held: ReadonlySet<string>;
  /** DN keys of entries that could not be read. */
  readonly unreadable: ReadonlySet<string>;
  /** Whether the mapping's directory user is left as it is. */
  readonly isKept: (m: MappingState) => boolean;
}

/** DN comparison key; a reference that is not a DN (an id) is compared as it is. */
export function dnKey(ref: string): string {
  try {
    return normalizeDn(ref);
  } catch {
    return ref.toLowerCase();
  }
}

export function keptOf(snapshot: DirectorySnapshot): Kept {
  const held = new Set(snapshot.held ?? []);
  for (const s of snapshot.skipped) if (s.id) held.add(s.id);
  // A user whose entry could not be read (skipped: invalid value, bad DN) is not "gone":
  // it is never deactivated for that.
  const unreadable = new Set<string>();
  for (const s of snapshot.skipped) unreadable.add(dnKey(s.ref));
  const isKept = (m: MappingState) => held.has(m.directoryId) || (unreadable.size > 0 && m.dn !== null && unreadable.has(dnKey(m.dn)));
  return { held, unreadable, isKept };
}

/** Local users whose memberships are left as they are (their directory user is kept). */
export function keptLocalUsers(state: StoreState, kept: Kept): Set<number> {
  const out = new Set<number>();
  if (kept.held.size || kept.unreadable.size) for (const m of state.mappings.values()) if (m.localUserId !== null && kept.isKept(m)) out.add(m.localUserId);
  return out;
}
