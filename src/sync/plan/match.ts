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
  const record = recorder(state, part, snapshot, target);
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
  record.finish();
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
 * Which synced groups reach each of these users (sorted): a link is red while it has conflicts.
 * Only the users recorded as conflicts or unmapped are asked for, after the matching, so a run
 * that creates or maps nearly every user (a first sync) keeps no list per user.
 */
function viaGroupsOf(snapshot: DirectorySnapshot, target: ReadonlyMap<string, Ref>, ids: Iterable<string>): Map<string, string[]> {
  const via = new Map<string, string[]>();
  for (const id of ids) via.set(id, []);
  if (via.size === 0) return via;
  for (const g of snapshot.groups) if (target.has(g.id)) for (const member of g.memberIds) via.get(member)?.push(g.id);
  for (const groups of via.values()) groups.sort();
  return via;
}

type Recorded = { readonly kind: 'conflict'; readonly fields: UserFields; readonly candidates: number[] } | { readonly kind: 'unmapped'; readonly fields: UserFields; readonly reason: string };

/**
 * Records conflicts and unmapped users; `finish` adds them to the plan with the groups that reach
 * them, `unchanged` when the mapping row already says so.
 */
function recorder(state: StoreState, part: UsersPart, snapshot: DirectorySnapshot, target: ReadonlyMap<string, Ref>) {
  const recorded: Recorded[] = [];
  const sameVia = (m: MappingState, groups: string[]) => sameList(m.viaGroups ?? [], groups);
  return {
    conflict: (fields: UserFields, candidates: number[]) => void recorded.push({ kind: 'conflict', fields, candidates }),
    unmapped: (fields: UserFields, reason: string) => void recorded.push({ kind: 'unmapped', fields, reason }),
    finish(): void {
      const via = viaGroupsOf(snapshot, target, recorded.map((r) => r.fields.directoryId));
      for (const r of recorded) {
        const m = state.mappings.get(r.fields.directoryId);
        const viaGroups = via.get(r.fields.directoryId)!;
        const same = !!m && m.status === r.kind && m.inScope && sameUser(r.fields, m) && sameVia(m, viaGroups);
        if (r.kind === 'conflict') {
          part.users.conflicts.push({ ...r.fields, candidates: r.candidates, viaGroups, unchanged: same && sameList(m!.candidates, r.candidates) });
        } else {
          part.users.unmapped.push({ ...r.fields, reason: r.reason, viaGroups, unchanged: same && m!.localUserId === null });
        }
      }
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
