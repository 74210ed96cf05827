/**
 * Incremental LDAP reads with RFC 4533 content synchronisation against a real slapd with the
 * syncprov overlay, with and without a session log (deletions named, or a present phase). After
 * every change the incremental snapshot must equal a full read of the server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectoryState, ReadScope } from '../../src/domain/types.ts';
import { buildProgram } from '../../src/cli/main.ts';
import type { ChatContext } from '../../src/chat/commands/context.ts';
import { handleCommand } from '../../src/chat/commands/handlers.ts';
import { parseCommand } from '../../src/chat/commands/parse.ts';
import type { View } from '../../src/chat/views/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { LdapSource, type LdapSourceOptions } from '../../src/directory/ldap/client.ts';
import { type TestApp, createTestApp, ldapConnection, openTestStore } from '../support/app.ts';
import { rows, storeFingerprint } from '../support/store.ts';
import { openStore } from '../../src/store/db.ts';
import { canonicalSnapshot, sourceOptions } from '../support/ldap-source.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

const SCOPE: ReadScope = { groupFilter: '(cn=*)', groupRefs: [] };
const P = 'ou=people,dc=example,dc=org';
const G = 'ou=groups,dc=example,dc=org';



const person = (uid: string, extra = '') => `dn: uid=${uid},${P}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${uid}@example.org\n${extra}`;

describe.each([
  ['a present phase', true],
  ['a session log', { sessionlog: 1000 }],
] as const)('incremental reads from slapd answering with %s', (_name, syncprov) => {
  let ldap: SlapdHandle;
  let state: DirectoryState | null = null;
  let now = new Date('2030-01-01T00:00:00Z');

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios], syncprov });
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  const source = (extra: Partial<LdapSourceOptions> = {}) => new LdapSource(sourceOptions(ldap, { now: () => now, ...extra }));
  /** An incremental read from the kept state (kept for the next one), and a plain full read of the server to compare with. */
  const readBoth = async (scope = SCOPE, extra: Partial<LdapSourceOptions> = {}) => {
    const snapshot = await source(extra).read(scope, undefined, state);
    state = snapshot.nextState ?? null;
    const full = await source({ incremental: false }).read(scope);
    expect(full.stats?.readReason).toBe('disabled');
    return { snapshot, full };
  };

  it('reads in full first, keeping the entries and a cookie', async () => {
    const { snapshot, full } = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'noState', trackedBy: 'syncrepl' });
    expect(snapshot.nextState?.cursor).toMatchObject({ mechanism: 'syncrepl', readMode: 'full' });
    expect(String(snapshot.nextState?.cursor['cookie'])).toMatch(/^rid=\d{3}/);
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    expect(snapshot.groups.length).toBeGreaterThan(5);
  });

  it('reads nothing new when nothing changed', async () => {
    const { snapshot, full } = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 0, deletedEntries: 0 });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
  });

  it('follows added, modified, renamed and deleted users', async () => {
    await ldap.load([person('inc-ann'), person('inc-ben'), person('inc-cat')].join('\n'));
    await ldap.load(`dn: cn=developers,${G}\nchangetype: modify\nadd: member\nmember: uid=inc-ann,${P}\nmember: uid=inc-ben,${P}\nmember: uid=inc-cat,${P}\n`);
    let { snapshot, full } = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental' });
    expect(Number(snapshot.stats?.['changedEntries'])).toBeGreaterThanOrEqual(4);
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    expect(snapshot.users.some((u) => u.login === 'inc-ann')).toBe(true);

    await ldap.load(`dn: uid=inc-ann,${P}\nchangetype: modify\nreplace: mail\nmail: ann.new@example.org\n-\nreplace: employeeType\nemployeeType: disabled\n`);
    await ldap.load(`dn: uid=inc-ben,${P}\nchangetype: modrdn\nnewrdn: uid=inc-benjamin\ndeleteoldrdn: 0\n`);
    await ldap.load(`dn: uid=inc-cat,${P}\nchangetype: delete\n`);
    ({ snapshot, full } = await readBoth());
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental' });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    expect(snapshot.users.find((u) => u.login === 'inc-ann')).toMatchObject({ mail: 'ann.new@example.org', enabled: false });
    // The renamed user's old DN is now a dangling member value of developers, as the server says.
    expect(snapshot.skipped.some((s) => s.reason.includes('inc-ben'))).toBe(true);
    expect(snapshot.users.some((u) => u.login === 'inc-cat')).toBe(false);
  });

  it('follows added, renamed and deleted groups and nested membership', async () => {
    await ldap.load(`dn: cn=inc-inner,${G}\nobjectClass: groupOfNames\ncn: inc-inner\nmember: uid=alice,${P}\n\ndn: cn=inc-outer,${G}\nobjectClass: groupOfNames\ncn: inc-outer\nmember: cn=inc-inner,${G}\n`);
    let { snapshot, full } = await readBoth();
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    const outer = () => snapshot.groups.find((g) => g.name === 'inc-outer');
    expect(outer()?.memberIds).toHaveLength(1);

    // A member added to the nested group reaches the outer one.
    await ldap.load(`dn: cn=inc-inner,${G}\nchangetype: modify\nadd: member\nmember: uid=bob,${P}\n`);
    ({ snapshot, full } = await readBoth());
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental', changedEntries: 1 });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    expect(outer()?.memberIds).toHaveLength(2);

    // Renaming the inner group leaves the outer one's member value dangling; deleting a group drops it.
    await ldap.load(`dn: cn=inc-inner,${G}\nchangetype: modrdn\nnewrdn: cn=inc-inner-renamed\ndeleteoldrdn: 1\n`);
    await ldap.load(`dn: cn=cycle-b,${G}\nchangetype: delete\n`);
    ({ snapshot, full } = await readBoth());
    expect(snapshot.stats).toMatchObject({ readMode: 'incremental' });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    expect(snapshot.groups.some((g) => g.name === 'inc-inner-renamed')).toBe(true);
    expect(snapshot.groups.some((g) => g.name === 'cycle-b')).toBe(false);
    expect(outer()?.memberIds).toHaveLength(0);
  });

  it('reconciles on its schedule and finds the kept entries equal to a full read', async () => {
    now = new Date(now.getTime() + 25 * 3600_000);
    const { snapshot, full } = await readBoth();
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'reconcile', reconcileDiffs: 0 });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    // The schedule counts from this full read.
    const next = await readBoth();
    expect(next.snapshot.stats).toMatchObject({ readMode: 'incremental' });
  });

  it('reads in full when asked, counting no difference', async () => {
    const snapshot = await source().read(SCOPE, undefined, state, { full: true });
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 0 });
    state = snapshot.nextState ?? null;
  });

  it('counts the entries a kept cache has wrong, and repairs them', async () => {
    // A cache that missed a change: the state of two reads ago, with the cookie of the last one.
    const stale = state!;
    await ldap.load(`dn: uid=alice,${P}\nchangetype: modify\nreplace: mail\nmail: alice.other@example.org\n`);
    const moved = await source().read(SCOPE, undefined, stale);
    const tampered: DirectoryState = { cursor: moved.nextState!.cursor, cache: stale.cache };
    const snapshot = await source().read(SCOPE, undefined, tampered, { full: true });
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 1 });
    expect(snapshot.users.find((u) => u.login === 'alice')?.mail).toBe('alice.other@example.org');
    state = snapshot.nextState ?? null;
  });

  it('reads in full when the cookie is rejected, saying why', async () => {
    const bad = (cookie: string): DirectoryState => ({ cursor: { ...state!.cursor, cookie }, cache: state!.cache });
    const malformed = await source().read(SCOPE, undefined, bad('not a cookie'));
    expect(malformed.stats).toMatchObject({ readMode: 'full', readReason: 'cookieRejected:malformedCookie' });
    const future = await source().read(SCOPE, undefined, bad('rid=000,csn=20991231000000.000000Z#000000#000#000000'));
    expect(future.stats).toMatchObject({ readMode: 'full', readReason: 'cookieRejected:cookieNewerThanServer' });
    const { full } = await readBoth();
    expect(canonicalSnapshot(future)).toEqual(canonicalSnapshot(full));
  });

  it('reads in full when the scope changes', async () => {
    const scope: ReadScope = { groupFilter: '(description=*)', groupRefs: [] };
    const { snapshot, full } = await readBoth(scope);
    expect(snapshot.stats).toMatchObject({ readMode: 'full', readReason: 'scopeChanged' });
    expect(canonicalSnapshot(snapshot)).toEqual(canonicalSnapshot(full));
    const again = await readBoth(scope);
    expect(again.snapshot.stats).toMatchObject({ readMode: 'incremental' });
    expect(canonicalSnapshot(again.snapshot)).toEqual(canonicalSnapshot(again.full));
  });
});

describe('incremental syncs through the engine', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios], syncprov: { sessionlog: 1000 } });
    app = await createTestApp('postgres', [ldapConnection(ldap, { incremental: 'entries' })]);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  const sync = (extra: { full?: boolean } = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });

  it('records the read mode on each run, and a reconciliation after incremental syncs changes nothing', async () => {
    const first = await sync();
    expect(first.run.status).toBe('partial'); // the scenarios hold dangling member values
    expect(first.run.stats).toMatchObject({ readMode: 'full', readReason: 'noState' });

    await ldap.load(`${person('eng-ann')}\ndn: cn=developers,${G}\nchangetype: modify\nadd: member\nmember: uid=eng-ann,${P}\n`);
    const second = await sync();
    expect(second.run.stats).toMatchObject({ readMode: 'incremental', changedEntries: 2, deletedEntries: 0 });
    expect(second.counts).toMatchObject({ usersCreated: 1, membershipsAdded: 1 });

    await ldap.load(`dn: uid=eng-ann,${P}\nchangetype: modify\nreplace: displayName\ndisplayName: Ann Engine\n`);
    await ldap.load(`dn: cn=developers,${G}\nchangetype: modify\ndelete: member\nmember: uid=bob,${P}\n`);
    await ldap.load(`dn: cn=cycle-a,${G}\nchangetype: delete\n`);
    const third = await sync();
    expect(third.run.stats).toMatchObject({ readMode: 'incremental', changedEntries: 2, deletedEntries: 1 });
    expect(third.counts?.membershipsRemoved).toBeGreaterThan(0);

    const out: string[] = [];
    const cli = buildProgram(async () => app, { out: (text) => out.push(text), err: process.stderr, setExit: () => {} });
    await cli.parseAsync(['--json', 'sync', 'corp', '--full'], { from: 'user' });
    const run = JSON.parse(out.join('\n')).run;
    expect(run.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 0 });
    expect(run.status).toBe('partial');
    expect(JSON.parse(out.join('\n')).counts).toMatchObject({ usersCreated: 0, usersUpdated: 0, usersDeactivated: 0, membershipsAdded: 0, membershipsRemoved: 0, groupsCreated: 0, groupsModified: 0, groupsDeleted: 0 });

    const after = await sync();
    expect(after.run.stats).toMatchObject({ readMode: 'incremental', changedEntries: 0 });

    // The same from chat: `sync corp --full` reads in full.
    const ctx: ChatContext = { ops: app.ops, db: app.store.db, logger: silentLogger, now: () => new Date(), user: { surface: 'slack', id: 'U1', aadObjectId: null, name: 'ann' }, actor: 'slack:ann', conversation: null };
    const reply = await handleCommand(ctx, parseCommand('sync corp --full'));
    const views: View[] = [];
    await reply.followUp!(async (view) => void views.push(view));
    const [fromChat] = await app.ops.runs('corp', 1);
    expect(fromChat!.actor).toBe('slack:ann');
    expect(fromChat!.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 0 });
    expect(views.at(-1)).toMatchObject({ type: 'run', id: fromChat!.id });
  });
});

describe('kept entries when a change leaves the read as it was', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  const team = `dn: cn=team,${G}\nobjectClass: groupOfNames\ncn: team\nmember: uid=alice,${P}\nmember: uid=bob,${P}\n`;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [[person('alice'), person('bob'), person('outsider', 'displayName: Outsider\n'), team].join('\n')], syncprov: { sessionlog: 1000 } });
    app = await createTestApp('postgres', [ldapConnection(ldap, { incremental: 'entries' })]);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });
  const sync = (extra: { full?: boolean } = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });

  it('keeps the merged entries with the new cookie, so a later change reads what changed before it', async () => {
    expect((await sync()).run).toMatchObject({ status: 'success', usersCreated: 2 });
    // Someone no linked group reaches changes: the read is what the last run read; nothing is planned.
    await ldap.load(`dn: uid=outsider,${P}\nchangetype: modify\nreplace: displayName\ndisplayName: Outsider Renamed\n`);
    const quiet = await sync();
    expect(quiet.plan).toBeNull();
    expect(quiet.run.stats).toMatchObject({ readMode: 'incremental', changedEntries: 1, sameDigest: true });
    // Then joins the team: created as the directory has it now, not as the entries kept before the change.
    await ldap.load(`dn: cn=team,${G}\nchangetype: modify\nadd: member\nmember: uid=outsider,${P}\n`);
    const joined = await sync();
    expect(joined.run.stats).toMatchObject({ readMode: 'incremental', changedEntries: 1 });
    expect(joined.plan!.users.create.map((u) => [u.login, u.displayName])).toEqual([['outsider', 'Outsider Renamed']]);
    expect((await sync({ full: true })).run.stats).toMatchObject({ readMode: 'full', readReason: 'requested', reconcileDiffs: 0 });
  });
});

describe('a sync with nothing changed, neither in the directory nor in the store', () => {
  let ldap: SlapdHandle;
  let app: TestApp;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios], syncprov: { sessionlog: 1000 } });
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  /** The app on one database, reopened with other settings (an admin editing the config and restarting). */
  let databaseUrl: string;
  const open = async (overrides: Record<string, unknown> = {}) => {
    await app?.close();
    const store = await openStore({ databaseUrl, maxConnections: 5 });
    app = await createTestApp('postgres', [ldapConnection(ldap, overrides)], { store });
  };
  const sync = (extra: { full?: boolean; dryRun?: boolean } = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });
  const fingerprint = () => storeFingerprint(app);

  it('records the last applying run as it stands, planning nothing; anything the plan depends on makes it plan again', async () => {
    databaseUrl = (await openTestStore()).url;
    await open();
    const first = await sync();
    expect(first.run.status).toBe('partial');
    const before = await fingerprint();

    // Nothing moved: the outcome of the first run stands (status, skipped entries, conflicts), nothing is planned.
    const same = await sync();
    expect(same.plan).toBeNull();
    expect(same.run.stats).toMatchObject({ readMode: 'incremental', unchangedSince: first.run.id, planMs: 0 });
    expect(same.run).toMatchObject({ status: first.run.status, usersConflicts: first.run.usersConflicts, usersCreated: 0, membershipsAdded: 0 });
    expect(same.run.skipped).toEqual(first.run.skipped);
    expect(await fingerprint()).toBe(before);
    // ...and again, standing on that one.
    const again = await sync();
    expect(again.run.stats).toMatchObject({ unchangedSince: same.run.id });

    // A change in the directory (detect mode, the default): read in full, applied, then nothing again.
    await ldap.load(`dn: uid=carol,${P}\nchangetype: modify\nreplace: displayName\ndisplayName: Carol Detected\n`);
    const changed = await sync();
    expect(changed.run.stats).toMatchObject({ readMode: 'full', readReason: 'changed', changedEntries: 1 });
    expect(changed.counts).toMatchObject({ usersUpdated: 1 });
    expect((await sync()).run.stats).toMatchObject({ readMode: 'incremental', unchangedSince: changed.run.id });

    // An admin's decision moves the store: the next run plans (and finds the decision kept).
    const [carol] = await rows<{ directory_id: string }>(app, `select directory_id from mappings where login = 'carol'`);
    await app.ops.ignore(carol!.directory_id, 'admin', { connection: 'corp' });
    const afterIgnore = await sync();
    expect(afterIgnore.plan).not.toBeNull();
    expect(afterIgnore.run.stats).not.toHaveProperty('unchangedSince');
    expect(afterIgnore.counts).toMatchObject({ usersCreated: 0, usersDeactivated: 0, membershipsAdded: 0 });
    expect((await sync()).run.stats).toMatchObject({ unchangedSince: afterIgnore.run.id });

    // Another application's write to the local store moves it too.
    await rows(app, `delete from memberships where user_id = (select local_user_id from mappings where login = 'alice' and status = 'mapped' limit 1)`);
    const repaired = await sync();
    expect(repaired.plan).not.toBeNull();
    expect(repaired.counts?.membershipsAdded).toBeGreaterThan(0);

    // Other settings (user creation off): planned again, not stood on.
    await open({ createUsers: false });
    const settings = await sync();
    expect(settings.plan).not.toBeNull();
    expect(settings.run.stats).not.toHaveProperty('unchangedSince');

    // A full read is always planned.
    const full = await sync({ full: true });
    expect(full.plan).not.toBeNull();
    expect(full.run.stats).toMatchObject({ readMode: 'full', readReason: 'requested' });
  });
});

describe('the kept snapshot, patched after random changes, equals a full read', () => {
  let ldap: SlapdHandle;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios], syncprov: { sessionlog: 1000 } });
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it('after every step of a seeded sequence of adds, modifies, renames, deletes and member changes (nested groups, cycles)', async () => {
    let seed = 12;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const scope: ReadScope = { groupFilter: '(cn=r-*)', groupRefs: [] };
    const users: string[] = [];
    const groups: string[] = [];
    let n = 0;
    const userDn = (uid: string) => `uid=${uid},${P}`;
    const groupDn = (cn: string) => `cn=${cn},${G}`;
    const memberDn = () => (random() < 0.3 && groups.length ? groupDn(pick(groups)) : random() < 0.05 ? `uid=nobody-${n},${P}` : users.length ? userDn(pick(users)) : `uid=alice,${P}`);
    const op = async (): Promise<void> => {
      const r = random();
      if (r < 0.2 || users.length < 3) {
        const uid = `r-u${n++}`;
        users.push(uid);
        await ldap.load(person(uid));
      } else if (r < 0.35 || groups.length < 3) {
        const cn = `${random() < 0.7 ? 'r' : 'x'}-g${n++}`;
        groups.push(cn);
        const members = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, memberDn))];
        await ldap.load(`dn: ${groupDn(cn)}\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m}\n`).join('')}`);
      } else if (r < 0.5) {
        const cn = pick(groups);
        await ldap.load(`dn: ${groupDn(cn)}\nchangetype: modify\nadd: member\nmember: ${memberDn()}\n`).catch(() => {});
      } else if (r < 0.6) {
        const cn = pick(groups);
        await ldap.load(`dn: ${groupDn(cn)}\nchangetype: modify\nreplace: member\nmember: ${memberDn()}\n`);
      } else if (r < 0.7) {
        const uid = pick(users);
        await ldap.load(`dn: ${userDn(uid)}\nchangetype: modify\nreplace: mail\nmail: ${uid}.${n++}@example.org\n-\nreplace: employeeType\nemployeeType: ${random() < 0.3 ? 'disabled' : 'staff'}\n`);
      } else if (r < 0.77) {
        const uid = users.splice(users.indexOf(pick(users)), 1)[0]!;
        await ldap.load(`dn: ${userDn(uid)}\nchangetype: delete\n`);
      } else if (r < 0.84) {
        const at = users.indexOf(pick(users));
        const uid = `r-u${n++}`;
        await ldap.load(`dn: ${userDn(users[at]!)}\nchangetype: modrdn\nnewrdn: uid=${uid}\ndeleteoldrdn: 1\n`);
        users[at] = uid;
      } else if (r < 0.92) {
        const at = groups.indexOf(pick(groups));
        const cn = `${random() < 0.5 ? 'r' : 'x'}-g${n++}`;
        await ldap.load(`dn: ${groupDn(groups[at]!)}\nchangetype: modrdn\nnewrdn: cn=${cn}\ndeleteoldrdn: 1\n`);
        groups[at] = cn;
      } else {
        const cn = groups.splice(groups.indexOf(pick(groups)), 1)[0]!;
        await ldap.load(`dn: ${groupDn(cn)}\nchangetype: delete\n`);
      }
    };
    const source = (extra: Partial<LdapSourceOptions> = {}) => new LdapSource(sourceOptions(ldap, { now: () => new Date('2030-01-01T00:00:00Z'), ...extra }));
    let state: DirectoryState | null = (await source().read(scope, undefined, null)).nextState ?? null;
    let patched = 0;
    for (let step = 0; step < 40; step++) {
      const count = 1 + Math.floor(random() * 4);
      for (let k = 0; k < count; k++) await op();
      const snapshot = await source().read(scope, undefined, state);
      state = snapshot.nextState ?? null;
      const full = await source({ incremental: false }).read(scope);
      expect(snapshot.stats).toMatchObject({ readMode: 'incremental' });
      if (snapshot.stats?.['snapshot'] === 'patched') patched++;
      expect({ step, groups: snapshot.groups, users: snapshot.users, skipped: snapshot.skipped }).toEqual({ step, groups: full.groups, users: full.users, skipped: full.skipped });
    }
    expect(patched).toBeGreaterThan(30);
  });
});

describe('detect mode (the default) asking slapd what changed', () => {
  let ldap: SlapdHandle;
  let app: TestApp | undefined;
  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios], syncprov: { sessionlog: 1000 }, logLevel: 'stats' });
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  /** The searches slapd logged after `from` (a length of its log), as filter and requested attributes. */
  const searches = (from: number) => {
    const ops = new Map<string, { filter: string; attributes: string[] }>();
    for (const line of readFileSync(join(ldap.dir, 'slapd.log'), 'utf8').slice(from).split('\n')) {
      const m = /(conn=\d+ op=\d+) SRCH (?:base=.* filter="(.*)"|attr=(.*))$/.exec(line);
      if (!m) continue;
      const op = ops.get(m[1]!) ?? { filter: '', attributes: [] };
      if (m[2] !== undefined) op.filter = m[2];
      else op.attributes = m[3]!.split(' ');
      ops.set(m[1]!, op);
    }
    return [...ops.values()];
  };

  it('asks for the ids of the entries that changed, not their attributes (a changed group would come with its whole member list), then reads in full', async () => {
    app = await createTestApp('postgres', [ldapConnection(ldap)]);
    const sync = () => app!.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    await sync();
    const from = readFileSync(join(ldap.dir, 'slapd.log'), 'utf8').length;
    await ldap.load(`dn: cn=edge-users,${G}\nchangetype: modify\ndelete: member\nmember: uid=jdoe,${P}\n`);
    const changed = await sync();
    expect(changed.run.stats).toMatchObject({ readMode: 'full', readReason: 'changed', changedEntries: 1 });
    expect(changed.counts?.membershipsRemoved).toBe(1);
    // The change search is the one over users and groups together (the full read searches each on its own).
    const tracked = searches(from).filter((s) => s.filter.startsWith('(|(|(objectClass=inetOrgPerson)'));
    expect(tracked).toEqual([{ filter: expect.stringContaining('groupOfNames'), attributes: ['entryUUID'] }]);
  });
});
