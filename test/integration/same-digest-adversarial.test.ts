/**
 * The "nothing changed: nothing planned" rule (sync/run.ts, sync/plan/digest.ts `whole`, and the
 * read's graph digest, ldap/read/graph-digest.ts) tried on a generated directory against a real
 * slapd, on a connection that reads in full every run (incremental off), on one that keeps the
 * entries and merges what changed (entries) and on one that reads in full when its tracker reports
 * a change (detect): seeded
 * sequences of directory, store, admin and configuration changes, each followed by the property
 * the rule must keep. A plain sync that plans nothing (found the read and the store as the last
 * applying run left them) is only allowed when a whole plan (a dry run with `full`) changes
 * nothing either; one that plans, plans what the whole plan does; and a `--full` sync afterwards
 * writes nothing.
 *
 * The changes are the ones an order-free sum could miss or a digest could leave out: renamed and
 * moved users and groups (modrdn), descriptions added and removed, a member removed from a nested
 * subgroup only, a cycle of groups, mail in another case, trailing spaces and non-ASCII values,
 * disabled and enabled users, attributes nobody syncs, users in no group, swaps that cancel in a
 * sum (two users' names, mails or whole identities; two groups' members or names), a member moved
 * and moved back in one step, other applications' edits, admin decisions, and the settings.
 * Memberships edited by other applications are left out: the digests do not see them, as
 * documented (docs/behaviour.md, "Unchanged data is skipped"); a full reconciliation repairs them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncPlan } from '../../src/sync/plan.ts';
import { isEmptyPlan } from '../../src/sync/plan/counts.ts';
import { openStore } from '../../src/store/db.ts';
import { type TestApp, createTestApp, ldapConnection, openTestStore } from '../support/app.ts';
import { canonical } from '../support/plan-state.ts';
import { mulberry32 } from '../support/random.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows, storeFingerprint } from '../support/store.ts';

const BASE = 'dc=example,dc=org';
/** Each seed's directory and sequence, read in full every run, through the kept entries (merged changes), or in full when the tracker reports a change. */
const CASES = [
  { seed: 0x5eed_0023, incremental: false },
  { seed: 0x0bad_cafe, incremental: 'entries' },
  { seed: 0x0dec_7ec7, incremental: 'detect' },
] as const;
const USERS = 90;
/** Plain syncs a change may take: a chain of renames, each onto the name the next frees, is one more each. */
const MAX_SYNCS = 10;
const EXTRA_STEPS = 2;

/** A seeded generator (mulberry32) with the picks the sequences use. */
function generator(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => {
    if (xs.length === 0) throw new NoChoice();
    return xs[int(xs.length)]!;
  };
  const shuffle = <T>(xs: readonly T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
  /** Two different items, in a seeded order. */
  const two = <T>(xs: readonly T[]): [T, T] => {
    if (xs.length < 2) throw new NoChoice();
    const [a, b] = shuffle(xs);
    return [a!, b!];
  };
  return { next, int, pick, shuffle, two };
}
/** Nothing to choose a change from (the directory moved on): the step changes nothing. */
class NoChoice extends Error {}
type Rng = ReturnType<typeof generator>;

// ---------------------------------------------------------------------------------------------
// The directory model: what the slapd holds, so changes can be chosen and written as LDIF.

interface User {
  uid: string;
  ou: 'people' | 'staff';
  mail: string | null;
  name: string;
  disabled: boolean;
  title: string;
}
interface Group {
  cn: string;
  description: string | null;
  members: Array<User | Group>;
}
interface Directory {
  users: User[];
  groups: Group[];
  /** Groups found by what they are, not by name (they are renamed): the cycle, the nested subgroups, the one out of scope. */
  cycle: [Group, Group];
  nested: Group[];
  out: Group;
  serial: number;
}

const isUser = (m: User | Group): m is User => 'uid' in m;
const dnOf = (m: User | Group) => (isUser(m) ? `uid=${m.uid},ou=${m.ou},${BASE}` : `cn=${m.cn},ou=groups,${BASE}`);

/** One attribute line; base64 when LDIF asks for it (non-ASCII, a leading or trailing space). */
function attr(name: string, value: string): string {
  return /[^\x20-\x7e]|^[ :<]|\s$/.test(value) ? `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}` : `${name}: ${value}`;
}
const userEntry = (u: User) =>
  [
    `dn: ${dnOf(u)}`,
    'objectClass: inetOrgPerson',
    `uid: ${u.uid}`,
    `cn: ${u.uid}`,
    `sn: ${u.uid}`,
    attr('displayName', u.name),
    attr('title', u.title),
    ...(u.mail ? [`mail: ${u.mail}`] : []),
    ...(u.disabled ? ['employeeType: disabled'] : []),
  ].join('\n');
const groupEntry = (g: Group) =>
  [`dn: ${dnOf(g)}`, 'objectClass: groupOfNames', `cn: ${g.cn}`, ...(g.description === null ? [] : [attr('description', g.description)]), ...g.members.map((m) => `member: ${dnOf(m)}`)].join('\n');
const modify = (dn: string, ...changes: string[]) => `dn: ${dn}\nchangetype: modify\n${changes.join('\n-\n')}`;
const replaceMembers = (g: Group) => modify(dnOf(g), ['replace: member', ...g.members.map((m) => `member: ${dnOf(m)}`)].join('\n'));

const NAMES = ['Ada Lovelace', 'Zoë Ångström', 'José Núñez', '李雷', 'Ørjan Østby', 'Grace Hopper ', 'Ĳsbrand', 'Émile Zola', 'Alan Turing', 'Søren Kierkegaard'];

function generateDirectory(r: Rng): Directory {
  const users: User[] = Array.from({ length: USERS }, (_, i) => {
    const uid = `u${String(i).padStart(3, '0')}`;
    const roll = r.next();
    return {
      uid,
      ou: r.next() < 0.3 ? 'staff' : 'people',
      mail: roll < 0.1 ? null : roll < 0.16 ? `shared${i % 2}@example.org` : `${uid}@example.org`,
      name: `${r.pick(NAMES)} ${i}${r.next() < 0.1 ? ' ' : ''}`,
      disabled: r.next() < 0.1,
      title: `title ${r.int(5)}`,
    };
  });
  const some = (n: number) => r.shuffle(users.slice(0, USERS - 10)).slice(0, n); // the last ten in no group
  const groups: Group[] = Array.from({ length: 12 }, (_, i) => ({
    cn: `pg-${String.fromCharCode(97 + i)}`,
    description: r.next() < 0.5 ? null : `Group ${i}${r.next() < 0.3 ? ' é' : ''}`,
    members: some(3 + r.int(12)),
  }));
  const [a, b, c, d] = groups as [Group, Group, Group, Group];
  const sub: Group = { cn: 'team-sub', description: null, members: some(4) }; // not linked, reached through pg-c
  const out: Group = { cn: 'team-out', description: null, members: some(5) }; // not linked, reached by nothing
  const cycA: Group = { cn: 'pg-cyc-a', description: 'cycle', members: some(3) };
  const cycB: Group = { cn: 'pg-cyc-b', description: 'cycle', members: [...some(3), cycA] };
  cycA.members.push(cycB);
  const child1: Group = { cn: 'pg-child1', description: null, members: some(4) };
  const child2: Group = { cn: 'pg-child2', description: null, members: some(4) };
  const parent: Group = { cn: 'pg-parent', description: 'nested', members: [child1, child2, ...some(2)] };
  a.members.push(child1);
  b.members.push(parent);
  c.members.push(sub);
  d.members.push(cycA);
  return { users, groups: [...groups, sub, out, cycA, cycB, child1, child2, parent], cycle: [cycA, cycB], nested: [child1, child2, sub], out, serial: 0 };
}

const directoryLdif = (dir: Directory) =>
  [`dn: ou=staff,${BASE}\nobjectClass: organizationalUnit\nou: staff`, ...dir.users.map(userEntry), ...dir.groups.map(groupEntry)].join('\n\n');

/** Groups whose member values name `m`. */
const holders = (dir: Directory, m: User | Group) => dir.groups.filter((g) => g.members.includes(m));
const linked = (dir: Directory) => dir.groups.filter((g) => g.cn.startsWith('pg-'));
const userMembers = (g: Group) => g.members.filter(isUser);

// ---------------------------------------------------------------------------------------------
// Changes: each changes the directory (LDIF), the store, or the settings, and says whether the
// next plain sync must find nothing changed (the rule's own cases, so the test shows it fires).

interface Harness {
  readonly dir: Directory;
  readonly r: Rng;
  readonly ldap: SlapdHandle;
  readonly app: () => TestApp;
  /** The app on the same database with these settings (an admin editing the config and restarting). */
  reopen(overrides: Record<string, unknown>): Promise<void>;
  /** The settings it runs with now. */
  readonly current: () => Record<string, unknown>;
  /** Groups an admin unlinked (linked again by the next such step). */
  readonly unlinked: Group[];
}
interface Step {
  readonly kind: string;
  /** Applies the change; returns its label, and `same` when the next plain sync must find the read unchanged. */
  readonly run: (h: Harness) => Promise<{ label: string; same?: boolean }>;
}

async function ldif(h: Harness, ...records: string[]): Promise<void> {
  await h.ldap.load(records.join('\n\n') + '\n');
}

/** Renames or moves an entry, and rewrites the member values of the groups naming it (no refint overlay). */
function moveRecords(h: Harness, m: User | Group, change: () => void): string[] {
  const oldDn = dnOf(m);
  const oldOu = isUser(m) ? m.ou : null;
  change();
  const rdn = isUser(m) ? `uid=${m.uid}` : `cn=${m.cn}`;
  const superior = isUser(m) && m.ou !== oldOu ? `\nnewsuperior: ou=${m.ou},${BASE}` : '';
  return [`dn: ${oldDn}\nchangetype: modrdn\nnewrdn: ${rdn}\ndeleteoldrdn: 1${superior}`, ...holders(h.dir, m).map(replaceMembers)];
}

const reachedUsers = (dir: Directory) => {
  const seen = new Set<User>();
  const visit = (g: Group, path: Set<Group>) => {
    if (path.has(g)) return;
    path.add(g);
    for (const m of g.members) if (isUser(m)) seen.add(m);
    else visit(m, path);
  };
  for (const g of linked(dir)) visit(g, new Set());
  return [...seen].sort((a, b) => a.uid.localeCompare(b.uid));
};
const unreached = (dir: Directory) => {
  const reached = new Set(reachedUsers(dir));
  return dir.users.filter((u) => !reached.has(u));
};
const STEPS: readonly Step[] = [
  { kind: 'nothing', run: async () => ({ label: 'nothing changed', same: true }) },
  {
    kind: 'unsynced attribute',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      u.title = `title ${++h.dir.serial}`;
      await ldif(h, modify(dnOf(u), `replace: title\ntitle: ${u.title}`), modify(dnOf(u), `replace: sn\nsn: sn${h.dir.serial}`));
      return { label: `${u.uid}: title and sn changed`, same: true };
    },
  },
  {
    kind: 'user in no group',
    run: async (h) => {
      const u: User = { uid: `n${++h.dir.serial}`, ou: 'people', mail: `n${h.dir.serial}@example.org`, name: 'Nobody', disabled: false, title: 't' };
      h.dir.users.push(u);
      await ldif(h, userEntry(u));
      return { label: `${u.uid} added in no group`, same: true };
    },
  },
  {
    kind: 'group out of scope',
    run: async (h) => {
      const { out } = h.dir;
      const u = h.r.pick(unreached(h.dir));
      if (!out.members.includes(u)) out.members.push(u);
      await ldif(h, replaceMembers(out));
      return { label: `${u.uid} joins team-out (reached by no linked group)`, same: true };
    },
  },
  {
    kind: 'member moved and back',
    run: async (h) => {
      const [x, y] = h.r.two(linked(h.dir).filter((g) => userMembers(g).length > 1));
      const m = h.r.pick(userMembers(x).filter((u) => !y.members.includes(u)));
      const del = (g: Group) => modify(dnOf(g), `delete: member\nmember: ${dnOf(m)}`);
      const add = (g: Group) => modify(dnOf(g), `add: member\nmember: ${dnOf(m)}`);
      await ldif(h, del(x), add(y), del(y), add(x));
      return { label: `${m.uid} moved ${x.cn} -> ${y.cn} and back`, same: true };
    },
  },
  {
    kind: 'group renamed',
    run: async (h) => {
      const g = h.r.pick(linked(h.dir));
      const from = g.cn;
      await ldif(h, ...moveRecords(h, g, () => (g.cn = `pg-r${++h.dir.serial}`)));
      return { label: `${from} renamed ${g.cn}` };
    },
  },
  {
    kind: 'group name case',
    run: async (h) => {
      const g = h.r.pick(linked(h.dir).filter((x) => x.cn === x.cn.toLowerCase()));
      const from = g.cn;
      await ldif(h, ...moveRecords(h, g, () => (g.cn = g.cn.toUpperCase().replace('PG-', 'pg-'))));
      return { label: `${from} renamed ${g.cn}` };
    },
  },
  {
    kind: 'group description',
    run: async (h) => {
      const g = h.r.pick(linked(h.dir));
      const before = g.description;
      const choice = h.r.int(3);
      g.description = before !== null && choice === 0 ? null : choice === 1 ? `${before ?? 'd'} ` : `Déscription ${++h.dir.serial}`;
      await ldif(h, modify(dnOf(g), g.description === null ? 'delete: description' : `replace: description\n${attr('description', g.description)}`));
      return { label: `${g.cn}: description ${JSON.stringify(before)} -> ${JSON.stringify(g.description)}` };
    },
  },
  {
    kind: 'user moved to another OU',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      await ldif(h, ...moveRecords(h, u, () => (u.ou = u.ou === 'people' ? 'staff' : 'people')));
      return { label: `${u.uid} moved to ou=${u.ou}` };
    },
  },
  {
    kind: 'user renamed',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      const from = u.uid;
      await ldif(h, ...moveRecords(h, u, () => (u.uid = `${u.uid}x`)));
      return { label: `${from} renamed ${u.uid}` };
    },
  },
  {
    kind: 'member removed from a nested subgroup',
    run: async (h) => {
      const child = h.r.pick(h.dir.nested.filter((g) => userMembers(g).length > 1));
      const m = h.r.pick(userMembers(child));
      child.members.splice(child.members.indexOf(m), 1);
      await ldif(h, replaceMembers(child));
      return { label: `${m.uid} removed from ${child.cn} only` };
    },
  },
  {
    kind: 'member added to a nested subgroup',
    run: async (h) => {
      const child = h.r.pick(h.dir.nested);
      const m = h.r.pick(h.dir.users.filter((u) => !child.members.includes(u)));
      child.members.push(m);
      await ldif(h, replaceMembers(child));
      return { label: `${m.uid} added to ${child.cn}` };
    },
  },
  {
    kind: 'cycle edge',
    run: async (h) => {
      const [a, b] = h.dir.cycle;
      const edge = a.members.includes(b);
      if (edge) a.members.splice(a.members.indexOf(b), 1);
      else a.members.push(b);
      await ldif(h, replaceMembers(a));
      return { label: `cycle ${edge ? 'broken' : 'closed'}` };
    },
  },
  {
    kind: 'mail case',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir).filter((x) => x.mail));
      const from = u.mail!;
      u.mail = from === from.toLowerCase() ? from.replace(/^./, (c) => c.toUpperCase()).replace('example', 'Example') : from.toLowerCase();
      await ldif(h, modify(dnOf(u), `replace: mail\nmail: ${u.mail}`));
      return { label: `${u.uid}: mail ${from} -> ${u.mail}` };
    },
  },
  {
    kind: 'trailing space and non-ASCII',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      const from = u.name;
      u.name = from.endsWith(' ') ? from.trimEnd() : h.r.next() < 0.5 ? `${from} ` : `${from.trimEnd()} ñ`;
      await ldif(h, modify(dnOf(u), `replace: displayName\n${attr('displayName', u.name)}`));
      return { label: `${u.uid}: displayName ${JSON.stringify(from)} -> ${JSON.stringify(u.name)}` };
    },
  },
  {
    kind: 'disabled or enabled',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      u.disabled = !u.disabled;
      await ldif(h, modify(dnOf(u), u.disabled ? 'replace: employeeType\nemployeeType: disabled' : 'delete: employeeType'));
      return { label: `${u.uid} ${u.disabled ? 'disabled' : 'enabled'}` };
    },
  },
  {
    kind: 'mail removed or added',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      const from = u.mail;
      u.mail = from ? null : `${u.uid}.new@example.org`;
      await ldif(h, modify(dnOf(u), u.mail ? `replace: mail\nmail: ${u.mail}` : 'delete: mail'));
      return { label: `${u.uid}: mail ${from} -> ${u.mail}` };
    },
  },
  {
    kind: 'two display names swapped',
    run: async (h) => {
      const [a, b] = h.r.two(reachedUsers(h.dir).filter((u, _, all) => all.filter((v) => v.name === u.name).length === 1));
      [a.name, b.name] = [b.name, a.name];
      await ldif(h, modify(dnOf(a), `replace: displayName\n${attr('displayName', a.name)}`), modify(dnOf(b), `replace: displayName\n${attr('displayName', b.name)}`));
      return { label: `${a.uid} and ${b.uid} swap display names` };
    },
  },
  {
    kind: 'two mails swapped',
    run: async (h) => {
      const [a, b] = h.r.two(reachedUsers(h.dir).filter((u) => u.mail));
      [a.mail, b.mail] = [b.mail, a.mail];
      await ldif(h, modify(dnOf(a), `replace: mail\nmail: ${a.mail}`), modify(dnOf(b), `replace: mail\nmail: ${b.mail}`));
      return { label: `${a.uid} and ${b.uid} swap mails` };
    },
  },
  {
    kind: 'two identities swapped',
    run: async (h) => {
      // Every synced attribute of a moves to b and b's to a (uid, OU, mail, name, disabled): each id's record is the other's.
      const [a, b] = h.r.two(reachedUsers(h.dir));
      const label = `${a.uid} and ${b.uid} swap identities`;
      const tmp = `tmp${++h.dir.serial}`;
      const [ua, ub] = [{ ...a }, { ...b }];
      const records = [
        ...moveRecords(h, a, () => ((a.uid = tmp), (a.ou = ub.ou))),
        ...moveRecords(h, b, () => ((b.uid = ua.uid), (b.ou = ua.ou))),
        ...moveRecords(h, a, () => (a.uid = ub.uid)),
      ];
      [a.mail, b.mail, a.name, b.name, a.disabled, b.disabled] = [ub.mail, ua.mail, ub.name, ua.name, ub.disabled, ua.disabled];
      const set = (u: User) =>
        modify(dnOf(u), u.mail ? `replace: mail\nmail: ${u.mail}` : 'replace: mail', `replace: displayName\n${attr('displayName', u.name)}`, u.disabled ? 'replace: employeeType\nemployeeType: disabled' : 'replace: employeeType');
      await ldif(h, ...records, set(a), set(b));
      return { label };
    },
  },
  {
    kind: 'two groups swap members',
    run: async (h) => {
      const [x, y] = h.r.two(linked(h.dir).filter((g) => !h.dir.cycle.includes(g)));
      [x.members, y.members] = [y.members, x.members];
      await ldif(h, replaceMembers(x), replaceMembers(y));
      return { label: `${x.cn} and ${y.cn} swap members` };
    },
  },
  {
    kind: 'two groups swap names',
    run: async (h) => {
      const [x, y] = h.r.two(linked(h.dir));
      const label = `${x.cn} and ${y.cn} swap names and descriptions`;
      const [nx, ny] = [x.cn, y.cn];
      const records = [...moveRecords(h, x, () => (x.cn = `pg-tmp${++h.dir.serial}`)), ...moveRecords(h, y, () => (y.cn = nx)), ...moveRecords(h, x, () => (x.cn = ny))];
      [x.description, y.description] = [y.description, x.description];
      const set = (g: Group) => modify(dnOf(g), g.description === null ? 'replace: description' : `replace: description\n${attr('description', g.description)}`);
      await ldif(h, ...records, set(x), set(y));
      return { label };
    },
  },
  {
    kind: 'two groups renamed in a chain',
    run: async (h) => {
      // y takes a new name and x takes y's: a rename onto a name another rename of the same run frees.
      const [x, y] = h.r.two(linked(h.dir));
      const [nx, ny] = [x.cn, y.cn];
      const records = [...moveRecords(h, y, () => (y.cn = `pg-c${++h.dir.serial}`)), ...moveRecords(h, x, () => (x.cn = ny))];
      await ldif(h, ...records);
      return { label: `${ny} renamed ${y.cn}, ${nx} renamed ${ny}` };
    },
  },
  {
    kind: 'mail handed over to a new user',
    run: async (h) => {
      // b's mail goes to a new user c in the same step: c matched against the local user that b's mail leaves.
      const b = h.r.pick(reachedUsers(h.dir).filter((u) => u.mail && !u.mail.startsWith('shared') && !u.disabled));
      const g = h.r.pick(linked(h.dir));
      const c: User = { uid: `c${++h.dir.serial}`, ou: 'people', mail: b.mail, name: 'Heir', disabled: false, title: 't' };
      b.mail = `${b.uid}.moved${h.dir.serial}@example.org`;
      h.dir.users.push(c);
      g.members.push(c);
      await ldif(h, modify(dnOf(b), `replace: mail\nmail: ${b.mail}`), userEntry(c), replaceMembers(g));
      return { label: `${b.uid}'s mail ${c.mail} goes to new ${c.uid} in ${g.cn}; ${b.uid} now ${b.mail}` };
    },
  },
  {
    kind: 'user replaced by a new one with its mail',
    run: async (h) => {
      // b leaves (deleted, or out of every linked group) and a new user c comes with b's mail in the same step.
      const b = h.r.pick(reachedUsers(h.dir).filter((u) => u.mail && !u.mail.startsWith('shared') && holders(h.dir, u).every((g) => g.members.length > 1)));
      const deleted = h.r.next() < 0.5;
      const records = holders(h.dir, b).map((g) => {
        g.members.splice(g.members.indexOf(b), 1);
        return replaceMembers(g);
      });
      if (deleted) h.dir.users.splice(h.dir.users.indexOf(b), 1);
      const g = h.r.pick(linked(h.dir));
      const c: User = { uid: `c${++h.dir.serial}`, ou: 'staff', mail: b.mail, name: 'Successor', disabled: false, title: 't' };
      h.dir.users.push(c);
      g.members.push(c);
      await ldif(h, ...records, ...(deleted ? [`dn: ${dnOf(b)}\nchangetype: delete`] : []), userEntry(c), replaceMembers(g));
      return { label: `${b.uid} ${deleted ? 'deleted' : 'left every group'}, new ${c.uid} in ${g.cn} with its mail ${c.mail}` };
    },
  },
  {
    kind: 'member moved to another group',
    run: async (h) => {
      const [x, y] = h.r.two(linked(h.dir).filter((g) => userMembers(g).length > 1));
      const m = h.r.pick(userMembers(x));
      x.members.splice(x.members.indexOf(m), 1);
      if (!y.members.includes(m)) y.members.push(m);
      await ldif(h, replaceMembers(x), replaceMembers(y));
      return { label: `${m.uid} moved ${x.cn} -> ${y.cn}` };
    },
  },
  {
    kind: 'new user in a group',
    run: async (h) => {
      const g = h.r.pick(linked(h.dir));
      const u: User = { uid: `new${++h.dir.serial}`, ou: h.r.next() < 0.5 ? 'people' : 'staff', mail: h.r.next() < 0.3 ? 'shared0@example.org' : `new${h.dir.serial}@example.org`, name: 'Néw Üser', disabled: false, title: 't' };
      h.dir.users.push(u);
      g.members.push(u);
      await ldif(h, userEntry(u), replaceMembers(g));
      return { label: `${u.uid} (${u.mail}) added to ${g.cn}` };
    },
  },
  {
    kind: 'user deleted',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir).filter((x) => holders(h.dir, x).every((g) => g.members.length > 1)));
      const records = holders(h.dir, u).map((g) => {
        g.members.splice(g.members.indexOf(u), 1);
        return replaceMembers(g);
      });
      h.dir.users.splice(h.dir.users.indexOf(u), 1);
      await ldif(h, ...records, `dn: ${dnOf(u)}\nchangetype: delete`);
      return { label: `${u.uid} deleted` };
    },
  },
  {
    kind: 'store: local user edited',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      const edit = h.r.pick(["display_name = display_name || ' '", 'active = not active', 'mail = upper(mail)', "login = login || '-other'", 'display_name = null']);
      await rows(h.app(), `update local_users set ${edit} where id = (select local_user_id from mappings where login = '${u.uid}' and status = 'mapped')`);
      return { label: `store: ${u.uid}'s local user: ${edit}` };
    },
  },
  {
    kind: 'store: mapping deleted',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir));
      await rows(h.app(), `delete from mappings where connection = 'corp' and login = '${u.uid}'`);
      return { label: `store: ${u.uid}'s mapping deleted` };
    },
  },
  {
    kind: 'store: local user with a shared mail',
    run: async (h) => {
      const u = h.r.pick(reachedUsers(h.dir).filter((x) => x.mail));
      await rows(h.app(), `insert into local_users (login, mail) values ('other-${++h.dir.serial}', '${u.mail!.toUpperCase()}')`);
      return { label: `store: another local user with ${u.uid}'s mail` };
    },
  },
  {
    kind: 'admin: ignore and unignore',
    run: async (h) => {
      const [ignored] = await rows<{ login: string }>(h.app(), `select login from mappings where status = 'ignored' limit 1`);
      if (ignored) {
        await h.app().ops.unignore(ignored.login, 'admin', { connection: 'corp' });
        return { label: `admin: ${ignored.login} unignored` };
      }
      const mapped = await rows<{ login: string }>(h.app(), `select login from mappings where status = 'mapped' and in_scope order by login`);
      const { login } = h.r.pick(mapped);
      await h.app().ops.ignore(login, 'admin', { connection: 'corp' });
      return { label: `admin: ${login} ignored` };
    },
  },
  {
    kind: 'admin: map',
    run: async (h) => {
      const [pending] = await rows<{ login: string }>(h.app(), `select login from mappings where status in ('unmapped', 'conflict') and login is not null order by login limit 1`);
      const [local] = await rows<{ id: number }>(h.app(), `insert into local_users (login, mail) values ('local-${++h.dir.serial}', 'local-${h.dir.serial}@example.org') returning id`);
      if (!pending) return { label: 'admin: nothing pending to map (a local user added)' };
      await h.app().ops.map(pending.login, `#${local!.id}`, 'admin', { connection: 'corp' });
      return { label: `admin: ${pending.login} mapped to #${local!.id}` };
    },
  },
  {
    kind: 'admin: unlink and link',
    run: async (h) => {
      if (h.unlinked.length) {
        const g = h.unlinked.pop()!;
        await h.app().ops.link('corp', dnOf(g), 'admin');
        return { label: `admin: ${g.cn} linked again` };
      }
      const active = new Set((await rows<{ dn: string }>(h.app(), `select dn from group_links where state = 'active'`)).map((l) => l.dn));
      const g = h.r.pick(linked(h.dir).filter((x) => active.has(dnOf(x))));
      await h.app().ops.unlink('corp', dnOf(g), 'admin');
      h.unlinked.push(g);
      return { label: `admin: ${g.cn} unlinked` };
    },
  },
  {
    kind: 'settings changed',
    run: async (h) => {
      const choice = h.r.pick([{ createUsers: false }, { userDefaults: { active: true, attributes: { locale: `l${++h.dir.serial}` } } }, { matchKey: 'login' }, {}]);
      await h.reopen(choice);
      return { label: `settings: ${JSON.stringify(choice)}` };
    },
  },
  {
    kind: 'settings unchanged, app restarted',
    run: async (h) => {
      await h.reopen(h.current());
      return { label: `restarted with the same settings ${JSON.stringify(h.current())}`, same: true };
    },
  },
];

// ---------------------------------------------------------------------------------------------

describe.each(CASES)('a plain sync never skips what a whole plan would change (seed $seed, incremental $incremental)', ({ seed, incremental }) => {
  const r = generator(seed);
  const dir = generateDirectory(r);
  let ldap: SlapdHandle;
  let app: TestApp;
  let databaseUrl: string;
  const settings = (overrides: Record<string, unknown>) =>
    ldapConnection(ldap, {
      groups: { filter: '(cn=pg-*)' },
      incremental,
      schedule: null,
      deletionThreshold: { maxPercent: 100, memberships: { maxPercent: 100 } },
      ...overrides,
    });
  let current: Record<string, unknown> = {};
  const reopen = async (overrides: Record<string, unknown>) => {
    current = overrides;
    await app?.close();
    app = await createTestApp('postgres', [settings(overrides)], { store: await openStore({ databaseUrl, maxConnections: 5 }) });
  };
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [directoryLdif(dir)], syncprov: { sessionlog: 10_000 } });
    const store = await openTestStore();
    databaseUrl = store.url;
    await store.close();
    await reopen({});
    // Local people and a group before the first sync: matches, a conflict, a duplicate name.
    await rows(app, `insert into local_users (login, mail) values ('l-u001', 'U001@example.org'), ('l-shared', 'shared1@example.org'), ('l-shared-b', 'shared1@example.org')`);
    await rows(app, `insert into local_groups (name) values ('PG-B')`);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = (extra: Record<string, unknown> = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const found = { same: 0, planned: 0, byGraph: 0 };

  /** One plain sync against a whole plan made just before it: see the file's comment. */
  async function plainAgainstWhole(label: string): Promise<SyncPlan | null> {
    const expected = await sync({ dryRun: true, full: true });
    expect(expected.run.error ?? null, label).toBeNull();
    const actual = await sync();
    expect(actual.run.error ?? null, label).toBeNull();
    expect(actual.run.status, label).not.toBe('awaiting_approval');
    if (actual.plan === null) {
      found.same++;
      if (actual.run.stats?.['sameGraph']) found.byGraph++;
      expect(actual.run.stats?.['sameDigest'] ?? actual.run.stats?.['unchangedSince'], label).toBeTruthy();
      expect(isEmptyPlan(expected.plan!), `${label}: found unchanged, but a whole plan changes something`).toBe(true);
    } else {
      found.planned++;
      expect(canonical(actual.plan), `${label}: the plain plan is not the whole plan`).toEqual(canonical(expected.plan));
    }
    return actual.plan;
  }

  /**
   * The property after a change; then, as a plan may leave work for the next (a rename onto a
   * name it frees), plain syncs until one changes nothing, each held to it too; then `--full`
   * finds nothing to write.
   */
  async function check(label: string, same = false): Promise<void> {
    let plan = await plainAgainstWhole(label);
    if (same) expect(plan, `${label}: should have found the read unchanged`).toBeNull();
    for (let again = 1; plan && !isEmptyPlan(plan); again++) {
      expect(again, `${label}: still planning changes after ${again} syncs`).toBeLessThan(MAX_SYNCS);
      plan = await plainAgainstWhole(`${label} (sync ${again + 1})`);
    }
    const before = await storeFingerprint(app);
    const full = await sync({ full: true });
    expect(full.run.error ?? null, label).toBeNull();
    expect(await storeFingerprint(app), `${label}: --full found something to change`).toBe(before);
  }

  it('after every change of a seeded sequence', async () => {
    const h: Harness = { dir, r, ldap, app: () => app, reopen, current: () => current, unlinked: [] };
    await check('first sync');
    await check('nothing changed', true);
    // Every kind once, in a seeded order, then seeded picks; each followed by a quiet sync.
    const sequence = [...r.shuffle(STEPS), ...Array.from({ length: EXTRA_STEPS }, () => r.pick(STEPS))];
    for (const [k, step] of sequence.entries()) {
      const { label, same } = await step.run(h).catch((error: unknown) => {
        if (error instanceof NoChoice) return { label: 'nothing to choose from', same: undefined };
        throw error;
      });
      await check(`#${k} ${step.kind}: ${label}`, same);
      if (k % 4 === 0) await check(`#${k} then nothing`, true);
    }
    // The rule fired (the quiet syncs at least), and the changes were planned.
    expect(found.same).toBeGreaterThan(10);
    expect(found.planned).toBeGreaterThan(20);
    // Read in full (off, or detect after a change reported), unchanged reads are found by the graph's digest
    // (in detect mode most are found by the tracker first: a change to what no read asks for).
    if (incremental !== 'entries') expect(found.byGraph).toBeGreaterThan(incremental === false ? 5 : 2);
  });
});

/**
 * The smallest case the sequences above found: a group renamed onto the name another group leaves
 * in the same change. The run renames the second group and refuses the first (its new name is
 * still taken when it plans); once applied, the name is free, and the next run must rename it,
 * whether it reads in full (incremental off: the same read) or asks the server what changed
 * (detect: nothing since; entries: the kept entries, which must follow a group moved onto the
 * DN another left in the same change).
 */
describe.each([{ incremental: false }, { incremental: 'detect' }, { incremental: 'entries' }])('a rename onto a name the same run frees (incremental $incremental)', ({ incremental }) => {
  let ldap: SlapdHandle;
  let app: TestApp;
  const g = (cn: string) => `cn=${cn},ou=groups,${BASE}`;
  const u = (uid: string) => `uid=${uid},ou=people,${BASE}`;
  beforeAll(async () => {
    const people = ['u1', 'u2'].map((uid) => `dn: ${u(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.org`);
    const groups = [`dn: ${g('pg-x')}\nobjectClass: groupOfNames\ncn: pg-x\nmember: ${u('u1')}`, `dn: ${g('pg-y')}\nobjectClass: groupOfNames\ncn: pg-y\nmember: ${u('u2')}`];
    ldap = await startSlapd({ ldif: [[...people, ...groups].join('\n\n')], syncprov: { sessionlog: 100 } });
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=pg-*)' }, incremental, schedule: null })]);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });
  const sync = (extra: Record<string, unknown> = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const renames = (plan: SyncPlan | null) => (plan?.groups.update ?? []).map((x) => `${x.before.name} -> ${x.after.name}`);

  it('is planned by the run after the one that freed it, then nothing is', async () => {
    await sync();
    expect((await sync()).plan).toBeNull();
    await ldap.load(`dn: ${g('pg-y')}\nchangetype: modrdn\nnewrdn: cn=pg-z\ndeleteoldrdn: 1\n\ndn: ${g('pg-x')}\nchangetype: modrdn\nnewrdn: cn=pg-y\ndeleteoldrdn: 1\n`);
    const first = await sync();
    // In the entries mode, the kept snapshot follows both moves (pg-x is not lost: not deleted).
    expect(first.plan!.groups.delete).toEqual([]);
    expect(renames(first.plan)).toEqual(['pg-y -> pg-z']);
    expect(first.run.skipped.map((x) => x.reason)).toEqual(['cannot rename local group "pg-x" to "pg-y": another local group has that name']);
    expect(renames((await sync({ dryRun: true, full: true })).plan)).toEqual(['pg-x -> pg-y']);
    const second = await sync();
    expect(second.run.stats, 'the run found nothing changed, but the rename is now possible').not.toHaveProperty('unchangedSince');
    expect(renames(second.plan)).toEqual(['pg-x -> pg-y']);
    expect(second.run.status).toBe('success');
    const third = await sync();
    expect(third.plan).toBeNull();
    expect(third.run.status).toBe('success');
    expect((await rows<{ name: string }>(app, `select name from local_groups order by name`)).map((r) => r.name)).toEqual(['pg-y', 'pg-z']);
  });
});
