/**
 * The sample of a held plan's removals shown on its approval card: deleted groups (with the
 * members they lose), deactivated users and removed memberships, each kind getting its share,
 * sorted so that the same plan always shows the same sample.
 */
import { plural } from '../format.ts';
import type { Executor } from '../store/db.ts';
import { loadLocalNames } from '../store/sync-state.ts';
import type { SyncPlan } from './plan.ts';

/** How many of each list to show: `size` handed out in turn, so no kind crowds out the others. */
export function fairShares(lengths: readonly number[], size: number): number[] {
  const shares = lengths.map(() => 0);
  let left = size;
  let moved = true;
  while (left > 0 && moved) {
    moved = false;
    for (let k = 0; k < lengths.length && left > 0; k++) {
      if (shares[k]! < lengths[k]!) {
        shares[k]!++;
        left--;
        moved = true;
      }
    }
  }
  return shares;
}


/** The first `n` removed memberships as [group, user] local ids, in (group, user) order. */
function firstRemovedMemberships(plan: SyncPlan, n: number): Array<[number, number]> {
  const { removeGroup, removeUser } = plan.memberships;
  const pairs = removeGroup.map((g, k): [number, number] => [g, removeUser[k]!]);
  return pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, n);
}

export async function removalSample(db: Executor, plan: SyncPlan, size = 10): Promise<string[]> {
  const groups = plan.groups.delete
    .map((d) => `group ${d.name}${d.members ? ` (${plural(d.members, 'member')})` : ''}`)
    .sort();
  const users = plan.users.deactivate.map((d) => `user ${d.login ?? d.directoryId}`).sort();
  const [groupShare, userShare, memberShare] = fairShares([groups.length, users.length, plan.memberships.removeGroup.length], size) as [number, number, number];
  const pairs = firstRemovedMemberships(plan, memberShare);
  const names = await loadLocalNames(db, [...new Set(pairs.map(([g]) => g))], [...new Set(pairs.map(([, u]) => u))]);
  const members = pairs.map(([g, u]) => `member ${names.users.get(u) ?? `#${u}`} of ${names.groups.get(g) ?? `group #${g}`}`);
  return [...groups.slice(0, groupShare), ...users.slice(0, userShare), ...members];
}
