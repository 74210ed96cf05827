/**
 * `why`: how a user reaches a linked group through nested groups. The store keeps each linked
 * group's effective members, not the member edges, so the path is read from the directory for
 * that one user: groups listing the user, then groups listing those, and so on (one search per
 * group on the way, breadth first so the shortest path is found), until the linked group is
 * reached. A cycle or a depth past MAX_DEPTH ends the walk.
 */
import { escapeFilter } from 'ldapts';
import { normalizeDn } from '../../domain/dn.ts';
import type { EntryAccess, ReadLayout } from './read.ts';
import { firstString } from './transform.ts';

const MAX_DEPTH = 10;
/** Searches one walk may send; a user in thousands of groups gives up rather than flood the server. */
const MAX_SEARCHES = 200;

function key(dn: string): string {
  try {
    return normalizeDn(dn);
  } catch {
    return dn.toLowerCase();
  }
}

/** The group names from `groupDn` down to the group listing `userDn`; null when the user is not reached. */
export async function findMemberPath(access: EntryAccess, layout: ReadLayout, groupDn: string, userDn: string): Promise<string[] | null> {
  const p = layout.profile;
  const target = key(groupDn);
  // Each node: a DN, and the chain of group names from it down to the user.
  let frontier: Array<{ dn: string; below: string[] }> = [{ dn: userDn, below: [] }];
  const seen = new Set<string>([key(userDn)]);
  let searches = 0;
  for (let depth = 0; depth < MAX_DEPTH && frontier.length; depth++) {
    const next: typeof frontier = [];
    for (const node of frontier) {
      if (++searches > MAX_SEARCHES) return null;
      const filter = `(&${p.groupFilter}(|${p.member.map((m) => escapeFilter`(${m}=${node.dn})`).join('')}))`;
      for await (const page of access.search(layout.groupBase, filter, [p.groupName])) {
        for (const entry of page) {
          const k = key(entry.dn);
          if (seen.has(k)) continue;
          seen.add(k);
          const chain = [firstString(entry, p.groupName) ?? entry.dn, ...node.below];
          if (k === target) return chain;
          next.push({ dn: entry.dn, below: chain });
        }
      }
    }
    frontier = next;
  }
  return null;
}
