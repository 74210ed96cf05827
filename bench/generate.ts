// The benchmark directory: N users (inetOrgPerson) and G groups (groupOfNames, cn app-g00001 …)
// with Zipf-ish, seeded sizes (a few groups of 5,000–20,000 members, most small; mean ~70), plus
// a few nested "team" groups outside the sync scope (one nesting cycle included). Everything is
// derived from the seed, so two runs see the same directory.
//
// The in-memory model is also what the benchmark checks groupsync's writes against: expected
// rows for the full sync, and for the 1 % change set built by planChanges().
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mulberry32 } from '../test/support/random.ts';

export const BASE_DN = 'dc=example,dc=org';
export const PEOPLE_DN = `ou=people,${BASE_DN}`;
export const GROUPS_DN = `ou=groups,${BASE_DN}`;

export const userUid = (i: number): string => `u${String(i + 1).padStart(6, '0')}`;
export const userDn = (i: number): string => `uid=${userUid(i)},${PEOPLE_DN}`;
export const groupCn = (g: number): string => `app-g${String(g + 1).padStart(5, '0')}`;
export const groupDn = (g: number): string => `cn=${groupCn(g)},${GROUPS_DN}`;
export const teamCn = (t: number): string => `team-n${String(t + 1).padStart(3, '0')}`;
export const teamDn = (t: number): string => `cn=${teamCn(t)},${GROUPS_DN}`;
export const userMail = (i: number, version = 0): string => `${userUid(i)}${version ? `.v${version}` : ''}@example.org`;
export const userDisplayName = (i: number, version = 0): string => `User ${i + 1}${version ? ` (v${version})` : ''}`;

export interface ModelOptions {
  readonly users: number;
  readonly groups: number;
  /** Mean direct members per app group (default 70). */
  readonly meanMembers?: number;
  readonly seed?: number;
}

export interface DirectoryModel {
  readonly users: number;
  /** Direct user members (0-based user indexes, ascending) of each app group. */
  readonly groups: Int32Array[];
  /** Direct user members of each team group. */
  readonly teams: Int32Array[];
  /** Team groups nested (as `member`) in each app group / team group. */
  readonly groupTeams: ReadonlyMap<number, readonly number[]>;
  readonly teamTeams: ReadonlyMap<number, readonly number[]>;
  readonly directMemberships: number;
}

export function buildModel(options: ModelOptions): DirectoryModel {
  const { users, groups: groupCount } = options;
  if (users < 10 || groupCount < 1) throw new Error('need at least 10 users and 1 group');
  const rand = mulberry32(options.seed ?? 20_251_122);
  const mean = options.meanMembers ?? 70;

  // Sizes: a power-law head (rank 1 gets users/5, s = 0.86 gives ~5 groups of 5,000+ at 100k
  // users) plus an exponential tail that brings the mean to `mean`. Ranks are shuffled over the
  // group names so the big groups are scattered.
  const maxSize = Math.max(1, Math.round(users * 0.2));
  const s = 0.86;
  const head = Array.from({ length: groupCount }, (_, k) => maxSize * (k + 1) ** -s);
  const headSum = head.reduce((a, b) => a + b, 0);
  const tailMean = Math.max(1, (mean * groupCount - headSum) / groupCount);
  const sizes = head.map((h) => Math.min(users, Math.max(1, Math.round(h - Math.log(1 - rand()) * tailMean))));
  for (let k = sizes.length - 1; k > 0; k--) {
    const j = Math.floor(rand() * (k + 1));
    [sizes[k], sizes[j]] = [sizes[j]!, sizes[k]!];
  }

  // Members: a partial Fisher–Yates over one scratch permutation (uniform without replacement,
  // O(size) per group; the permutation need not be reset between groups).
  const perm = new Int32Array(users);
  for (let i = 0; i < users; i++) perm[i] = i;
  const sample = (m: number): Int32Array => {
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rand() * (users - i));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    return perm.slice(0, m).sort();
  };
  const groups = sizes.map((m) => sample(m));

  // A few nested groups: teams of 10–50 users outside the scope filter, each nested in one app
  // group; team 1 ⇄ team 2 form a cycle and team 3 contains team 4 (two levels).
  const teamCount = Math.max(4, Math.round(groupCount / 500));
  const teams = Array.from({ length: teamCount }, () => sample(10 + Math.floor(rand() * 41)));
  const groupTeams = new Map<number, number[]>();
  for (let t = 0; t < teamCount; t++) {
    const g = Math.floor(rand() * groupCount);
    groupTeams.set(g, [...(groupTeams.get(g) ?? []), t]);
  }
  const teamTeams = new Map<number, number[]>([
    [0, [1]],
    [1, [0]],
    [2, [3]],
  ]);
  return { users, groups, teams, groupTeams, teamTeams, directMemberships: sizes.reduce((a, b) => a + b, 0) };
}

/** Writes the model as LDIF for slapadd (needs ou=people and ou=groups from base.ldif). Streamed. */
export async function writeLdif(model: DirectoryModel, file: string): Promise<{ bytes: number; entries: number }> {
  const out = createWriteStream(file, { encoding: 'utf8' });
  let buffer = '';
  let bytes = 0;
  let entries = 0;
  const flush = async (force = false) => {
    if (buffer.length < 1 << 20 && !force) return;
    bytes += Buffer.byteLength(buffer);
    const ok = out.write(buffer);
    buffer = '';
    if (!ok) await once(out, 'drain');
  };
  for (let i = 0; i < model.users; i++) {
    const uid = userUid(i);
    buffer +=
      `dn: uid=${uid},${PEOPLE_DN}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: User ${i + 1}\nsn: ${i + 1}\n` +
      `displayName: ${userDisplayName(i)}\nmail: ${userMail(i)}\n\n`;
    entries++;
    await flush();
  }
  const groupEntry = (dn: string, cn: string, description: string, members: Int32Array, nested: readonly string[]) => {
    let text = `dn: ${dn}\nobjectClass: groupOfNames\ncn: ${cn}\ndescription: ${description}\n`;
    for (const n of nested) text += `member: ${n}\n`;
    for (let k = 0; k < members.length; k++) text += `member: uid=${userUid(members[k]!)},${PEOPLE_DN}\n`;
    buffer += `${text}\n`;
    entries++;
  };
  for (let t = 0; t < model.teams.length; t++) {
    groupEntry(teamDn(t), teamCn(t), `Nested team ${t + 1}`, model.teams[t]!, (model.teamTeams.get(t) ?? []).map(teamDn));
    await flush();
  }
  for (let g = 0; g < model.groups.length; g++) {
    groupEntry(groupDn(g), groupCn(g), `Bench group ${g + 1}`, model.groups[g]!, (model.groupTeams.get(g) ?? []).map(teamDn));
    await flush();
  }
  await flush(true);
  out.end();
  await once(out, 'finish');
  return { bytes, entries };
}

// ---------------------------------------------------------------------------------------------
// Expected effective memberships (nested teams expanded, cycles safe)

function teamClosure(model: DirectoryModel): Set<number>[] {
  return model.teams.map((_, t) => {
    const users = new Set<number>();
    const seen = new Set([t]);
    const stack = [t];
    while (stack.length) {
      const cur = stack.pop()!;
      for (const u of model.teams[cur]!) users.add(u);
      for (const n of model.teamTeams.get(cur) ?? []) {
        if (!seen.has(n)) {
          seen.add(n);
          stack.push(n);
        }
      }
    }
    return users;
  });
}

/** Users reached through an app group's nested teams (empty for most groups). */
function nestedUsers(model: DirectoryModel, closure: Set<number>[], g: number): Set<number> {
  const out = new Set<number>();
  for (const t of model.groupTeams.get(g) ?? []) for (const u of closure[t]!) out.add(u);
  return out;
}

export interface Effective {
  /** Distinct (app group, user) pairs after expansion. */
  readonly memberships: number;
  /** Per user: in how many app groups (after expansion). */
  readonly reachCount: Int32Array;
  readonly reachedUsers: number;
}

export function effective(model: DirectoryModel): Effective {
  const closure = teamClosure(model);
  const reachCount = new Int32Array(model.users);
  let memberships = 0;
  model.groups.forEach((direct, g) => {
    const nested = nestedUsers(model, closure, g);
    for (const u of direct) {
      reachCount[u] = reachCount[u]! + 1;
      nested.delete(u);
    }
    for (const u of nested) reachCount[u] = reachCount[u]! + 1;
    memberships += direct.length + nested.size;
  });
  let reachedUsers = 0;
  for (const c of reachCount) if (c > 0) reachedUsers++;
  return { memberships, reachCount, reachedUsers };
}

/** Rows written per table: inserted, updated, deleted. */
export interface TableWrites {
  ins: number;
  upd: number;
  del: number;
}
export type Writes = Record<string, TableWrites>;

/** What the first sync of the model must write. */
export function expectedFullSync(model: DirectoryModel, eff: Effective): Writes {
  return {
    local_users: { ins: eff.reachedUsers, upd: 0, del: 0 },
    mappings: { ins: eff.reachedUsers, upd: 0, del: 0 },
    local_groups: { ins: model.groups.length, upd: 0, del: 0 },
    group_links: { ins: model.groups.length, upd: 0, del: 0 },
    memberships: { ins: eff.memberships, upd: 0, del: 0 },
  };
}

// ---------------------------------------------------------------------------------------------
// Changes no plan reads

/** ldapmodify input replacing the surname (`sn`, synced to nothing) of a `fraction` of the users. */
export function unrelatedChanges(model: DirectoryModel, options: { seed?: number; fraction?: number } = {}): { ldif: string; users: number } {
  const rand = mulberry32(options.seed ?? 11);
  const count = Math.round(model.users * (options.fraction ?? 0.01));
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(rand() * model.users));
  const ldif = [...chosen].map((i) => `dn: uid=${userUid(i)},${PEOPLE_DN}\nchangetype: modify\nreplace: sn\nsn: ${i + 1} (changed)\n`).join('\n');
  return { ldif, users: count };
}

// ---------------------------------------------------------------------------------------------
// The 1 % change set

export interface ChangeSet {
  /** ldapmodify input applying the changes, and the one undoing them. */
  readonly ldif: string;
  readonly revertLdif: string;
  readonly usersChanged: number;
  readonly membersRemoved: number;
  readonly membersAdded: number;
  readonly groupsTouched: number;
  /** Rows the next sync must write (nested expansion and users entering/leaving the scope included). */
  readonly expected: Writes;
}

export interface ChangeOptions {
  /** Fraction of users whose mail and displayName change (default 0.01). */
  readonly userFraction?: number;
  /** Fraction of direct memberships changed, half removed and half added (default 0.01). */
  readonly membershipFraction?: number;
  readonly seed?: number;
}

/** Builds 1 % of user changes and 1 % of membership changes against `model` (which is not modified). */
export function planChanges(model: DirectoryModel, eff: Effective, options: ChangeOptions = {}): ChangeSet {
  const rand = mulberry32(options.seed ?? 7);
  const pick = (n: number) => Math.floor(rand() * n);
  const G = model.groups.length;
  const total = model.directMemberships;
  const changes = Math.round(total * (options.membershipFraction ?? 0.01));
  const removeTarget = Math.floor(changes / 2);
  const addTarget = changes - removeTarget;

  // Cumulative sizes: picking a global membership index picks a group proportionally to its size.
  const cumulative = new Float64Array(G);
  let acc = 0;
  for (let g = 0; g < G; g++) cumulative[g] = acc += model.groups[g]!.length;
  const groupAt = (index: number): number => {
    let lo = 0;
    let hi = G - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > index) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };

  const direct = new Map<number, Set<number>>();
  const directOf = (g: number) => {
    let set = direct.get(g);
    if (!set) direct.set(g, (set = new Set(model.groups[g])));
    return set;
  };
  const removed = new Map<number, number[]>();
  const added = new Map<number, number[]>();
  let removes = 0;
  for (let tries = 0; removes < removeTarget && tries < removeTarget * 20; tries++) {
    const index = pick(total);
    const g = groupAt(index);
    const u = model.groups[g]![index - (g ? cumulative[g - 1]! : 0)]!;
    const set = directOf(g);
    if (!set.has(u) || set.size <= 2) continue; // already removed, or would empty the group
    set.delete(u);
    removed.set(g, [...(removed.get(g) ?? []), u]);
    removes++;
  }
  let adds = 0;
  for (let tries = 0; adds < addTarget && tries < addTarget * 20; tries++) {
    const g = groupAt(pick(total));
    const u = pick(model.users);
    const set = directOf(g);
    if (set.has(u) || removed.get(g)?.includes(u)) continue;
    set.add(u);
    added.set(g, [...(added.get(g) ?? []), u]);
    adds++;
  }

  // Users whose mail and displayName change: among users in scope before the change.
  const userTarget = Math.round(model.users * (options.userFraction ?? 0.01));
  const changedUsers = new Set<number>();
  for (let tries = 0; changedUsers.size < userTarget && tries < userTarget * 20; tries++) {
    const u = pick(model.users);
    if (eff.reachCount[u]! > 0) changedUsers.add(u);
  }

  // Expected effective diff, group by group, and users entering or leaving the scope.
  const closure = teamClosure(model);
  const reach = Int32Array.from(eff.reachCount);
  let memberIns = 0;
  let memberDel = 0;
  for (const g of new Set([...removed.keys(), ...added.keys()])) {
    const nested = nestedUsers(model, closure, g);
    const before = new Set([...model.groups[g]!, ...nested]);
    const after = new Set([...directOf(g), ...nested]);
    for (const u of before) {
      if (after.has(u)) continue;
      memberDel++;
      reach[u] = reach[u]! - 1;
    }
    for (const u of after) {
      if (before.has(u)) continue;
      memberIns++;
      reach[u] = reach[u]! + 1;
    }
  }
  let created = 0;
  let updated = 0;
  for (let u = 0; u < model.users; u++) {
    const was = eff.reachCount[u]! > 0;
    const is = reach[u]! > 0;
    if (!was && is) created++;
    else if (was && !is) updated++; // deactivated: local user inactive + mapping out of scope
    else if (was && is && changedUsers.has(u)) updated++;
  }

  const modifyUser = (u: number, version: number) =>
    `dn: ${userDn(u)}\nchangetype: modify\nreplace: mail\nmail: ${userMail(u, version)}\n-\nreplace: displayName\ndisplayName: ${userDisplayName(u, version)}\n-\n\n`;
  const modifyGroup = (g: number, del: readonly number[], add: readonly number[]) => {
    let text = `dn: ${groupDn(g)}\nchangetype: modify\n`;
    if (del.length) text += `delete: member\n${del.map((u) => `member: ${userDn(u)}\n`).join('')}-\n`;
    if (add.length) text += `add: member\n${add.map((u) => `member: ${userDn(u)}\n`).join('')}-\n`;
    return `${text}\n`;
  };
  const touched = [...new Set([...removed.keys(), ...added.keys()])].sort((a, b) => a - b);
  const users = [...changedUsers].sort((a, b) => a - b);
  const ldif =
    users.map((u) => modifyUser(u, 1)).join('') + touched.map((g) => modifyGroup(g, removed.get(g) ?? [], added.get(g) ?? [])).join('');
  const revertLdif =
    users.map((u) => modifyUser(u, 0)).join('') + touched.map((g) => modifyGroup(g, added.get(g) ?? [], removed.get(g) ?? [])).join('');

  return {
    ldif,
    revertLdif,
    usersChanged: changedUsers.size,
    membersRemoved: removes,
    membersAdded: adds,
    groupsTouched: touched.length,
    expected: {
      local_users: { ins: created, upd: updated, del: 0 },
      mappings: { ins: created, upd: updated, del: 0 },
      local_groups: { ins: 0, upd: 0, del: 0 },
      group_links: { ins: 0, upd: 0, del: 0 },
      memberships: { ins: memberIns, upd: 0, del: memberDel },
    },
  };
}
