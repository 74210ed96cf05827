/**
 * Users not mapped yet (new, unmapped, in conflict, or whose local user vanished): matched to a
 * local user on the connection's key. One candidate maps; none creates (or is left unmapped);
 * several, or a key shared by two directory users or held by a mapped user, is a conflict.
 */
import type { DirectorySnapshot, DirectoryUser, MatchKey } from '../../domain/types.ts';
import type { UsersPart } from './users.ts';
import { sameUser, userFields } from './fields.ts';
import type { MappingState, PlanOptions, Ref, StoreState, UserFields } from '../../domain/plan.ts';

const lower = (s: string | null) => (s === null ? null : s.toLowerCase());

/** The user's value of the connection's match key, lower case, or null when it has none. */
export const matchKeyOf = (u: { readonly login: string | null; readonly mail: string | null }, matchKey: MatchKey) => lower(matchKey === 'mail' ? u.mail : u.login);

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((v, k) => v === b[k]);
}

export function planNewUsers(
  snapshot: DirectorySnapshot,
  state: StoreState,
  options: PlanOptions,
  target: ReadonlyMap<string, Ref>,
  pending: readonly DirectoryUser[],
  part: UsersPart,
): void {
  const claimedLocal = new Set<number>();
  for (const m of state.mappings.values()) if (m.localUserId !== null && m.status === 'mapped') claimedLocal.add(m.localUserId);
  const takenKeys = heldKeys(part, state, claimedLocal, options.matchKey);
  const keyUse = new Map<string, number>();
  for (const u of pending) {
    const key = matchKeyOf(u, options.matchKey);
    if (key) keyUse.set(key, (keyUse.get(key) ?? 0) + 1);
  }
  const record = recorder(state, part, viaGroupsOf(snapshot, target, pending));
  for (const u of pending) {
    const fields = userFields(u);
    const key = matchKeyOf(u, options.matchKey);
    if (!key) {
      record.unmapped(fields, `no ${options.matchKey}: cannot be matched to a local user`);
      part.skipped.push({ ref: u.dn ?? u.id, kind: 'user', reason: `no ${options.matchKey} (the connection's match key)` });
      continue;
    }
    const candidates = (state.candidatesByKey.get(key) ?? []).filter((id) => !claimedLocal.has(id));
    const shared = (keyUse.get(key) ?? 0) > 1;
    if (candidates.length === 0 && takenKeys.has(key)) {
      // The local user with this key (now, or after this run's updates) belongs to another
      // directory user: a second account with the same key would be worse than asking an admin.
      record.conflict(fields, []);
    } else if (candidates.length === 1) {
      // Two directory users sharing one key: neither may take the local user.
      if (shared) record.conflict(fields, candidates);
      else mapTo(state, u, fields, candidates[0]!, part, claimedLocal);
    } else if (candidates.length > 1) {
      record.conflict(fields, [...candidates].sort((a, b) => a - b));
    } else if (shared) {
      record.conflict(fields, []);
    } else if (options.createUsers) {
      part.users.create.push({ ...fields, known: state.mappings.has(u.id) });
      part.member.set(u.id, u.id);
    } else {
      record.unmapped(fields, 'no local user matches and user creation is off');
    }
  }
}

/** Maps the user to the one local user with its key, updating that local user to the directory's values. */
function mapTo(state: StoreState, u: DirectoryUser, fields: UserFields, id: number, part: UsersPart, claimedLocal: Set<number>): void {
  claimedLocal.add(id);
  part.users.map.push({ ...fields, localUserId: id });
  part.member.set(u.id, id);
  const local = state.localUsers.get(id);
  if (local && (local.login !== u.login || local.mail !== u.mail || local.displayName !== u.displayName || local.active !== u.enabled)) {
    part.users.update.push({
      localUserId: id,
      before: { ...fields, login: local.login, mail: local.mail, displayName: local.displayName, active: local.active },
      after: { ...fields, active: u.enabled },
    });
  }
}

/**
 * Which synced groups reach each user not mapped yet (sorted): a link is red while it has
 * conflicts. Worked out on the first question: a run that creates or maps every pending user (a
 * first sync) asks none, and keeps no list per user.
 */
function viaGroupsOf(snapshot: DirectorySnapshot, target: ReadonlyMap<string, Ref>, pending: readonly DirectoryUser[]): (id: string) => string[] {
  let via: Map<string, string[]> | null = null;
  return (id) => {
    if (!via) {
      via = new Map<string, string[]>();
      for (const u of pending) via.set(u.id, []);
      for (const g of snapshot.groups) if (target.has(g.id)) for (const member of g.memberIds) via.get(member)?.push(g.id);
    }
    return (via.get(id) ?? []).sort();
  };
}

/** Records a conflict or an unmapped user, `unchanged` when the mapping row already says so. */
function recorder(state: StoreState, part: UsersPart, viaOf: (id: string) => string[]) {
  const sameVia = (m: MappingState, groups: string[]) => sameList(m.viaGroups ?? [], groups);
  return {
    conflict(fields: UserFields, candidates: number[]): void {
      const m = state.mappings.get(fields.directoryId);
      const viaGroups = viaOf(fields.directoryId);
      const unchanged = !!m && m.status === 'conflict' && m.inScope && sameUser(fields, m) && sameList(m.candidates, candidates) && sameVia(m, viaGroups);
      part.users.conflicts.push({ ...fields, candidates, viaGroups, unchanged });
    },
    unmapped(fields: UserFields, reason: string): void {
      const m = state.mappings.get(fields.directoryId);
      const viaGroups = viaOf(fields.directoryId);
      const unchanged = !!m && m.status === 'unmapped' && m.inScope && m.localUserId === null && sameUser(fields, m) && sameVia(m, viaGroups);
      part.users.unmapped.push({ ...fields, reason, viaGroups, unchanged });
    },
  };
}

/**
 * The match keys (lower case) of the local users already mapped, as they will be after this
 * plan's updates: a user not mapped yet who has one of them may not take or copy it.
 */
function heldKeys(part: UsersPart, state: StoreState, claimedLocal: ReadonlySet<number>, matchKey: MatchKey): Set<string> {
  const after = new Map<number, string | null>();
  for (const id of claimedLocal) {
    const local = state.localUsers.get(id);
    if (local) after.set(id, matchKeyOf(local, matchKey));
  }
  for (const x of part.users.update) after.set(x.localUserId, matchKeyOf(x.after, matchKey));
  const keys = new Set<string>();
  for (const key of after.values()) if (key) keys.add(key);
  return keys;
}
