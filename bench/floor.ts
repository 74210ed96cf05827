// The floor: the least work any sync of this directory into PostgreSQL must do.
//   1. ldapsearch (paged, 1,000 per page) of exactly what groupsync reads: every user with
//      entryUUID/uid/mail/cn/displayName, every group with entryUUID/cn/description/member;
//      written to a file (timed), then parsed and counted (timed apart; not part of the floor).
//   2. COPY of the resulting rows (users reached by a group, the app groups, the memberships with
//      nested groups expanded: the same rows groupsync writes) into plain, index-less tables of
//      a fresh database (timed).
// floor = search time + COPY time.
import { spawn } from 'node:child_process';
import { createReadStream, openSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import postgres from 'postgres';

export interface LdapTarget {
  readonly url: string;
  readonly bindDn: string;
  readonly password: string;
  readonly baseDn: string;
}

export interface FloorResult {
  readonly searchMs: { users: number; groups: number };
  readonly parseMs: number;
  readonly copyMs: number;
  readonly floorMs: number;
  readonly ldifBytes: number;
  readonly entries: { users: number; groups: number; memberValues: number };
  readonly rows: { users: number; groups: number; memberships: number };
}

/** The user filter of groupsync's OpenLDAP profile, so both read the same entries. */
export const USER_FILTER = '(|(objectClass=inetOrgPerson)(objectClass=posixAccount)(objectClass=person))';
export const USER_ATTRIBUTES = ['entryUUID', 'uid', 'mail', 'cn', 'displayName'];
export const GROUP_ATTRIBUTES = ['entryUUID', 'cn', 'description', 'member'];

/** Runs ldapsearch with its output going to `file`; resolves with the wall time in ms. */
export function ldapsearch(target: LdapTarget, filter: string, attributes: readonly string[], file: string, pageSize = 1000): Promise<number> {
  const args = ['-x', '-LLL', '-o', 'ldif-wrap=no', '-E', `pr=${pageSize}/noprompt`, '-H', target.url, '-D', target.bindDn, '-w', target.password, '-b', target.baseDn, filter, ...attributes];
  return new Promise((resolve, reject) => {
    const fd = openSync(file, 'w');
    const started = performance.now();
    const child = spawn('ldapsearch', args, { stdio: ['ignore', fd, 'pipe'] });
    closeSync(fd);
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`ldapsearch ${filter} failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

interface Entry {
  dn: string;
  attrs: Map<string, string[]>;
}

/** Streams the entries of an ldapsearch -LLL (unwrapped) output file. */
async function* readEntries(file: string): AsyncGenerator<Entry> {
  let current: Entry | null = null;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') {
      if (current) yield current;
      current = null;
      continue;
    }
    if (line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`unexpected LDIF line: ${line.slice(0, 80)}`);
    const name = line.slice(0, colon).toLowerCase();
    const value = line[colon + 1] === ':' ? Buffer.from(line.slice(colon + 2).trim(), 'base64').toString('utf8') : line.slice(colon + 1).trimStart();
    if (name === 'dn') {
      if (current) yield current;
      current = { dn: value, attrs: new Map() };
      continue;
    }
    if (!current) throw new Error(`attribute before dn: ${line.slice(0, 80)}`);
    const list = current.attrs.get(name);
    if (list) list.push(value);
    else current.attrs.set(name, [value]);
  }
  if (current) yield current;
}

const first = (e: Entry, name: string): string | null => e.attrs.get(name)?.[0] ?? null;
/** The DNs here are all simple (no escapes): lower case and no spaces is a faithful key. */
const dnKey = (dn: string): string => dn.toLowerCase().replace(/\s*([,=])\s*/g, '$1');

function tsv(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** COPY rows into `table` through postgres.js's writable COPY stream, 64 KB per chunk. */
async function copyRows(sql: postgres.Sql, table: string, columns: readonly string[], rows: Iterable<ReadonlyArray<string | number | null>>): Promise<void> {
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const row of rows) {
      chunk += row.map(tsv).join('\t') + '\n';
      if (chunk.length > 1 << 16) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const writable = await sql.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`).writable();
  await pipeline(Readable.from(chunks()), writable);
}

export async function measureFloor(target: LdapTarget, databaseUrl: string, workDir: string, groupFilter = '(objectClass=groupOfNames)'): Promise<FloorResult> {
  const usersFile = join(workDir, 'floor-users.ldif');
  const groupsFile = join(workDir, 'floor-groups.ldif');
  // Warm-up (not timed): page cache and slapd's caches as warm as groupsync will find them.
  await ldapsearch(target, USER_FILTER, USER_ATTRIBUTES, usersFile);
  await ldapsearch(target, groupFilter, GROUP_ATTRIBUTES, groupsFile);
  const usersMs = await ldapsearch(target, USER_FILTER, USER_ATTRIBUTES, usersFile);
  const groupsMs = await ldapsearch(target, groupFilter, GROUP_ATTRIBUTES, groupsFile);

  // Parse and count (timed apart), resolve members to users, expand nested groups.
  const parseStarted = performance.now();
  const userIndex = new Map<string, number>();
  const users: Array<[number, string, string | null, string | null, string | null]> = [];
  let userEntries = 0;
  for await (const e of readEntries(usersFile)) {
    userEntries++;
    const id = users.length + 1;
    userIndex.set(dnKey(e.dn), id);
    users.push([id, first(e, 'entryuuid') ?? '', first(e, 'uid'), first(e, 'mail'), first(e, 'displayname') ?? first(e, 'cn')]);
  }
  interface Group {
    uuid: string;
    name: string;
    description: string | null;
    users: number[];
    nested: string[];
  }
  const groups = new Map<string, Group>();
  let groupEntries = 0;
  let memberValues = 0;
  for await (const e of readEntries(groupsFile)) {
    groupEntries++;
    const g: Group = { uuid: first(e, 'entryuuid') ?? '', name: first(e, 'cn') ?? '', description: first(e, 'description'), users: [], nested: [] };
    for (const m of e.attrs.get('member') ?? []) {
      memberValues++;
      const key = dnKey(m);
      const u = userIndex.get(key);
      if (u !== undefined) g.users.push(u);
      else g.nested.push(key);
    }
    groups.set(dnKey(e.dn), g);
  }
  const linked = [...groups.values()].filter((g) => g.name.toLowerCase().startsWith('app-'));
  const memberships: Array<[number, number]> = [];
  const reached = new Set<number>();
  linked.forEach((g, k) => {
    const members = new Set(g.users);
    const seen = new Set<Group>([g]);
    const stack = g.nested.map((n) => groups.get(n)).filter((x): x is Group => !!x);
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const u of n.users) members.add(u);
      for (const nn of n.nested) {
        const next = groups.get(nn);
        if (next) stack.push(next);
      }
    }
    for (const u of members) {
      memberships.push([k + 1, u]);
      reached.add(u);
    }
  });
  const parseMs = performance.now() - parseStarted;

  // COPY into plain tables (created untimed).
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'groupsync-bench' } });
  try {
    await sql.unsafe(`
      create table users (id int, directory_id text, login text, mail text, display_name text);
      create table groups (id int, directory_id text, name text, description text);
      create table memberships (group_id int, user_id int);`);
    const copyStarted = performance.now();
    await copyRows(sql, 'users', ['id', 'directory_id', 'login', 'mail', 'display_name'], users.filter((u) => reached.has(u[0])));
    await copyRows(sql, 'groups', ['id', 'directory_id', 'name', 'description'], linked.map((g, k) => [k + 1, g.uuid, g.name, g.description]));
    await copyRows(sql, 'memberships', ['group_id', 'user_id'], memberships);
    const copyMs = performance.now() - copyStarted;
    const [counts] = await sql<Array<{ users: number; groups: number; memberships: number }>>`
      select (select count(*) from users)::int as users, (select count(*) from groups)::int as groups,
             (select count(*) from memberships)::int as memberships`;
    return {
      searchMs: { users: usersMs, groups: groupsMs },
      parseMs,
      copyMs,
      floorMs: usersMs + groupsMs + copyMs,
      ldifBytes: statSync(usersFile).size + statSync(groupsFile).size,
      entries: { users: userEntries, groups: groupEntries, memberValues },
      rows: counts!,
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
