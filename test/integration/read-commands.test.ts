/**
 * The read commands end to end on the real app: a real slapd with nested groups, the store on
 * PostgreSQL, the chat command layer (parse → role check → handler → operations → store) and both
 * renderers: `users`, `audit`, `incidents`, `why`, and the alert card's context.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ChatAlerts } from '../../src/chat/alerts.ts';
import { Authorizer, type ChatUser } from '../../src/chat/auth.ts';
import type { Reply } from '../../src/chat/commands/context.ts';
import { ChatService } from '../../src/chat/service.ts';
import { renderBlocks } from '../../src/chat/slack/blocks.ts';
import { renderCard } from '../../src/chat/teams/cards.ts';
import type { View } from '../../src/chat/views/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { setSubscription } from '../../src/store/conversations.ts';
import type { Store } from '../../src/store/db.ts';
import { type TestApp, createTestApp, entraConnection, ldapConnection, openTestStore } from '../support/app.ts';
import { type GraphServer, guid, startGraphServer } from '../support/graph-server.ts';
import { blockButtons, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { cardActions, cardTexts } from '../support/teams.ts';

const person = (uid: string, name: string, mail = `${uid}@example.org`) =>
  `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${name}\nsn: ${name.split(' ').pop()}\ndisplayName: ${name}\nmail: ${mail}\n`;
const groupOf = (cn: string, members: string[]) =>
  `dn: cn=${cn},ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: ${cn}\n${members.map((m) => `member: ${m.includes('=') ? m : `uid=${m},ou=people,dc=example,dc=org`}\n`).join('')}`;
const nested = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;
const extra = Array.from({ length: 12 }, (_, i) => `u${String(i + 1).padStart(2, '0')}`);

/**
 * staff ⊃ teams ⊃ core ∋ ana (two levels of nesting), carla directly in teams; ops holds bruno,
 * fred and twelve more. Linked: staff and ops. dan has no local user (unmapped), eve is ignored
 * after the first sync, gus's mail is shared by two local users (conflict).
 */
const LDIF = [
  person('ana', 'Ana Lima'),
  person('bruno', 'Bruno Reis'),
  person('carla', 'Carla Dias'),
  person('dan', 'Dan Unmapped'),
  person('eve', 'Eve Ignored'),
  person('fred', 'Fred Outside'),
  person('gus', 'Gus Twice', 'gus@example.org'),
  ...extra.map((u) => person(u, `Extra ${u}`)),
  groupOf('core', ['ana', 'dan', 'eve', 'gus']),
  groupOf('teams', [nested('core'), 'carla']),
  groupOf('staff', [nested('teams')]),
  groupOf('ops', ['bruno', 'fred', ...extra]),
].join('\n');

const VIEWER: ChatUser = { surface: 'slack', id: 'UVIEW1', aadObjectId: null, name: 'Victor Viewer' };
const ADMIN: ChatUser = { surface: 'slack', id: 'UADMIN1', aadObjectId: null, name: 'Ana Admin' };

let ldap: SlapdHandle;
let store: Store;
let app: TestApp;
let chat: ChatService;
const posted: View[] = [];

/** What both surfaces show of a reply: the texts and the buttons, asserted to agree. */
function shown(r: Reply): { text: string; buttons: Array<{ label: string; verb: string; data: Record<string, unknown> }> } {
  const card = renderCard(r.view);
  const { blocks } = renderBlocks(r.view);
  const teams = cardTexts(card).join('\n');
  const slack = unescapeMrkdwn(blockTexts(blocks).join('\n'));
  const buttons = cardActions(card).map((a) => ({ label: a.title, verb: a.verb, data: a.data }));
  expect(blockButtons(blocks).map((b) => `${b.verb} ${JSON.stringify(b.data)}`).sort()).toEqual(buttons.map((b) => `${b.verb} ${JSON.stringify(b.data)}`).sort());
  return { text: `${teams}\n---\n${slack}`, buttons };
}

const say = async (text: string, user: ChatUser = VIEWER) => shown(await chat.handleText({ user, conversation: null }, text));
const click = async (button: { verb: string; data: Record<string, unknown> }, user: ChatUser = VIEWER) => shown(await chat.handleAction({ user, conversation: null }, button.verb, button.data));

beforeAll(async () => {
  ldap = await startSlapd({ ldif: [LDIF] });
  store = await openTestStore('postgres');
  const alerts = new ChatAlerts({ db: store.db, logger: silentLogger });
  alerts.register({ surface: 'slack', post: async (_c, view) => (posted.push(view), { messageId: String(posted.length) }), update: async () => {} });
  const corp = ldapConnection(ldap, { groups: { filter: '(|(cn=staff)(cn=ops))' }, createUsers: false });
  const broken = ldapConnection(ldap, { name: 'broken', url: 'ldap://127.0.0.1:1', timeoutSeconds: 1 });
  app = await createTestApp('postgres', [corp, broken], { store, alertSink: alerts, chat: { admins: { slack: [ADMIN.id] }, viewers: { slack: [VIEWER.id] } } });
  chat = new ChatService({ ops: app.ops, db: store.db, auth: new Authorizer({ db: store.db, chat: app.config.chat }), logger: silentLogger });
  await setSubscription(store.db, { surface: 'slack', key: 'C1', reference: { channel: 'C1' } }, true, 'test', new Date());
  const locals = ['ana', 'bruno', 'carla', 'eve', 'fred', ...extra].map((u) => `('${u}', '${u}@example.org', '${u}')`);
  await store.db.execute(sql.raw(`insert into local_users (login, mail, display_name) values ${locals.join(', ')}, ('gus1', 'gus@example.org', 'Gus One'), ('gus2', 'GUS@example.org', 'Gus Two')`));
  await app.ops.sync({ connection: 'corp', trigger: 'chat', actor: 'slack:Ana Admin (UADMIN1)' });
  await app.ops.ignore('eve', 'slack:Ana Admin (UADMIN1)');
  await app.ops.sync({ connection: 'broken', trigger: 'manual', actor: 'cli:root' }).catch(() => {});
}, 60_000);

afterAll(async () => {
  await app?.close();
  await ldap?.stop();
});

describe('users <connection>', () => {
  it('lists the directory users with their status and local user, paged, sorted by login', async () => {
    const first = await say('users corp');
    expect(first.text).toContain('Directory users of corp');
    expect(first.text).toMatch(/1–10 of 19/);
    expect(first.text).toContain('ana');
    expect(first.text).toContain('Ana Lima');
    expect(first.text).toContain('ana@example.org');
    expect(first.text).toMatch(/mapped → local user #\d+ ana/);
    const next = first.buttons.find((b) => b.label.startsWith('Next'))!;
    expect(next.data).toMatchObject({ connection: 'corp', offset: 10 });
    const second = await click(next);
    expect(second.text).toMatch(/11–19 of 19/);
    expect(second.text).toContain('u12');
  });

  it('filters by status: unmapped, conflict, ignored', async () => {
    const unmapped = await say('users corp --status unmapped');
    expect(unmapped.text).toContain('dan');
    expect(unmapped.text).not.toContain('ana@example.org');
    expect((await say('users corp --status conflict')).text).toContain('Gus Twice');
    const ignored = await say('users corp --status ignored');
    expect(ignored.text).toContain('Eve Ignored');
    expect(ignored.text).toMatch(/1 user/);
  });

  it('searches login, name and mail without regard to case', async () => {
    const r = await say('users corp LIMA');
    expect(r.text).toContain('ana');
    expect(r.text).not.toContain('bruno');
    expect((await say('users corp "BRUNO@EXAMPLE"')).text).toContain('Bruno Reis');
    expect((await say('users corp --status mapped nobody-here')).text).toContain('No directory user');
  });

  it('refuses an unknown status with the usage line', async () => {
    expect((await say('users corp --status happy')).text).toMatch(/--status must be one of/);
  });
});

describe('audit', () => {
  it('shows readable entries newest first: actor names, user and group names, ids only in details', async () => {
    const r = await say('audit corp');
    expect(r.text).toContain('Ana Admin ignored directory user eve (Eve Ignored)');
    expect(r.text).not.toMatch(/slack:Ana Admin \(UADMIN1\) ignored/);
    expect(r.text.indexOf('ignored directory user eve')).toBeLessThan(r.text.indexOf('changed the members of'));
  });

  it('names a chat actor recorded without a name by its directory display name', async () => {
    const [ana] = (await store.db.execute(sql`select directory_id from mappings where login = 'ana'`)) as unknown as Array<{ directory_id: string }>;
    await store.db.execute(sql.raw(`insert into audit_log (actor, action, connection, target_type, target_id) values ('teams:(${ana!.directory_id})', 'alerts.subscribed', null, 'conversation', 'teams:19:x')`));
    expect((await say('audit')).text).toContain('Ana Lima subscribed to alerts: teams:19:x');
  });

  it('filters by user, group, actor and time', async () => {
    const eve = await say('audit corp --user eve');
    expect(eve.text).toContain('ignored directory user eve');
    expect(eve.text).not.toContain('bruno');
    const ops = await say('audit --group ops');
    expect(ops.text).toMatch(/changed the members of group ops/);
    expect(ops.text).not.toContain('group staff');
    expect((await say('audit --actor "ana admin" --since 1h')).text).toContain('ignored directory user eve');
    expect((await say('audit --since 2099-01-01')).text).toContain('No audit entries');
    expect((await say('audit --since soon')).text).toMatch(/--since/);
  });
});

describe('incidents', () => {
  it('lists the open alerts in chat with cause, since, consecutive failures and a button to the run', async () => {
    const r = await say('incidents');
    expect(r.text).toContain('Sync failed — broken');
    expect(r.text).toMatch(/Consecutive failures: ?1/);
    expect(r.buttons.some((b) => b.verb === 'run.show')).toBe(true);
  });

  it('the alert card has consecutive failures, next retry, last success and the failed run', async () => {
    const alert = posted.find((v) => v.type === 'alert' && v.connection === 'broken')!;
    const r = shown({ view: alert, replace: true });
    expect(r.text).toMatch(/Consecutive failures: ?1/);
    expect(r.text).toMatch(/Next retry: ?\S/);
    expect(r.text).toMatch(/Last success: ?never/);
    const run = r.buttons.find((b) => b.verb === 'run.show')!;
    expect(r.text).toContain(`Run: #${String(run.data.run)}`);
  });
});

describe('why <user> [<group>]', () => {
  it('a member through two levels of nesting: the directory path, the mapping and the run that added it', async () => {
    const r = await say('why ana staff');
    expect(r.text).toContain('ana is a member of staff');
    expect(r.text).toContain('staff → teams → core → ana');
    expect(r.text).toMatch(/mapped to local user #\d+ ana/);
    expect(r.text).toMatch(/Last change: run #\d+/);
  });

  it('a user outside the directory group is not a member, and says so', async () => {
    const r = await say('why fred staff');
    expect(r.text).toContain('fred is not a member of staff');
    expect(r.text).toContain('not a member of staff in the directory');
  });

  it('an ignored user and an unmapped user are not members, with the reason', async () => {
    const eve = await say('why eve staff');
    expect(eve.text).toContain('eve is not a member of staff');
    expect(eve.text).toMatch(/ignored by Ana Admin/);
    expect(eve.text).toContain('staff → teams → core → eve');
    expect(eve.text).toMatch(/Last change: by hand: removed by Ana Admin/);
    const dan = await say('why dan staff');
    expect(dan.text).toContain('dan is not a member of staff');
    expect(dan.text).toMatch(/unmapped/);
  });

  it('without a group: the local groups and the linked groups the user is not in', async () => {
    const r = await say('why bruno');
    expect(r.text).toMatch(/ops: member/);
    expect(r.text).toMatch(/staff: not a member/);
  });
});

/**
 * An LDIF connection: the same nesting read from a file. corp2 ⊃ mid ⊃ ina (nested), dia is a
 * direct member of corp2, nob is outside; twin1 and twin2 share one mail and no local user has it
 * (a conflict between two directory users). Users are created by the sync.
 */
describe('why on an LDIF connection', () => {
  const ldifPerson = (uid: string, name: string, mail = `${uid}@files.example.org`) => person(uid, name, mail);
  const FILE_LDIF = [
    'dn: dc=example,dc=org\nobjectClass: domain\ndc: example\n',
    ldifPerson('ina', 'Ina Nested'),
    ldifPerson('dia', 'Dia Direct'),
    ldifPerson('nob', 'Nob Outside'),
    ldifPerson('twin1', 'Twin One', 'twin@files.example.org'),
    ldifPerson('twin2', 'Twin Two', 'twin@files.example.org'),
    groupOf('mid', ['ina']),
    groupOf('corp2', [nested('mid'), 'dia', 'twin1', 'twin2']),
    ...Array.from({ length: 25 }, (_, i) => groupOf(`extra${i}`, ['nob', 'twin1', 'twin2'])),
  ]
    // An LDIF file carries the operational attributes a server adds, entryUUID among them.
    .map((entry) => `${entry}entryUUID: ${randomUUID()}\n`)
    .join('\n');
  let files: TestApp;
  let fileChat: ChatService;
  let dir: string;
  const ask = async (text: string) => shown(await fileChat.handleText({ user: VIEWER, conversation: null }, text));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'why-ldif-'));
    const file = path.join(dir, 'directory.ldif');
    await writeFile(file, FILE_LDIF);
    files = await createTestApp('postgres', [{ name: 'files', kind: 'ldif', file, groups: { filter: '(|(cn=corp2)(cn=extra*))' } }], { chat: { viewers: { slack: [VIEWER.id] } } });
    fileChat = new ChatService({ ops: files.ops, db: files.store.db, auth: new Authorizer({ db: files.store.db, chat: files.config.chat }), logger: silentLogger });
    const { run } = await files.ops.sync({ connection: 'files', trigger: 'manual', actor: 'cli:root' });
    expect(run.status).toBe('success');
  }, 60_000);
  afterAll(async () => {
    await files?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a direct member is a member, with its path read from the file', async () => {
    const r = await ask('why dia corp2');
    expect(r.text).toContain('dia is a member of corp2');
    expect(r.text).toContain('in the local group because it is a member of corp2 in the directory');
    expect(r.text).not.toContain('the next sync removes it');
    expect(r.text).toContain('corp2 → dia');
  });

  it('a nested member shows the nesting path', async () => {
    const r = await ask('why ina corp2');
    expect(r.text).toContain('ina is a member of corp2');
    expect(r.text).toContain('corp2 → mid → ina');
    expect(r.text).not.toContain('the next sync removes it');
  });

  it('a user outside the group is not a member', async () => {
    const r = await ask('why nob corp2');
    expect(r.text).toContain('nob is not a member of corp2');
    expect(r.text).toContain('not a member of corp2 in the directory');
  });

  it('a user in conflict, without a group: the mapping problem once, the groups compactly', async () => {
    const r = await ask('why twin1');
    const [teams] = r.text.split('\n---\n');
    expect(teams).toContain('another directory user has the same key');
    expect(teams).not.toContain('0 local users match it');
    expect(teams!.match(/another directory user has the same key/g)).toHaveLength(1);
    expect(teams).toMatch(/Not a member of 26 linked groups\W*\n\s*its mapping \(above\) keeps it out of them/);
    expect(teams!.split('\n').length).toBeLessThan(60);
    expect(teams).toMatch(/and \d+ more/);
  });

  it('users --status conflict says why, not "0 local candidates"', async () => {
    const r = await ask('users files --status conflict');
    expect(r.text).toContain('Twin One');
    expect(r.text).toContain('another directory user has the same key');
    expect(r.text).not.toContain('0 local candidates');
  });
});

/** Entra ID cannot trace one user's nesting: the answer comes from the last sync, and says the path is unavailable. */
describe('why on an Entra ID connection', () => {
  let graph: GraphServer;
  let cloud: TestApp;
  let cloudChat: ChatService;
  const ask = async (text: string) => shown(await cloudChat.handleText({ user: VIEWER, conversation: null }, text));

  beforeAll(async () => {
    const tls = inject('graphTls');
    graph = await startGraphServer({ certFile: tls.certFile, keyFile: tls.keyFile });
    const user = (n: number, login: string) => graph.addUser({ id: guid(1, n), userPrincipalName: `${login}@corp.example`, mail: `${login}@cloud.example.org`, displayName: login, accountEnabled: true });
    user(1, 'direct');
    user(2, 'deep');
    user(3, 'outsider');
    graph.addGroup({ id: guid(2, 1), displayName: 'team-inner', description: null, members: [guid(1, 2)] });
    graph.addGroup({ id: guid(2, 2), displayName: 'app-g004', description: null, members: [guid(1, 1), guid(2, 1)] });
    graph.addGroup({ id: guid(2, 3), displayName: 'app-other', description: null, members: [guid(1, 3)] });
    cloud = await createTestApp('postgres', [entraConnection(graph, { name: 'cloud', groups: { filter: "startswith(displayName,'app-')" } })], { chat: { viewers: { slack: [VIEWER.id] } } });
    cloudChat = new ChatService({ ops: cloud.ops, db: cloud.store.db, auth: new Authorizer({ db: cloud.store.db, chat: cloud.config.chat }), logger: silentLogger });
    const { run } = await cloud.ops.sync({ connection: 'cloud', trigger: 'manual', actor: 'cli:root' });
    expect(run.status).toBe('success');
  }, 60_000);
  afterAll(async () => {
    await cloud?.close();
    await graph?.stop();
  });

  it('a direct and a nested member are members, from the last sync, the path unavailable', async () => {
    for (const who of ['direct', 'deep']) {
      const r = await ask(`why ${who}@corp.example app-g004`);
      expect(r.text).toContain(`is a member of app-g004`);
      expect(r.text).toContain('in the local group because it is a member of app-g004 in the directory');
      expect(r.text).not.toContain('the next sync removes it');
      expect(r.text).toMatch(/Directory path: not available: .*cannot trace nested groups/);
    }
  });

  it('a non-member is not a member at the last sync', async () => {
    const r = await ask('why outsider@corp.example app-g004');
    expect(r.text).toContain('is not a member of app-g004');
    expect(r.text).toContain('not a member of app-g004 in the directory at the last sync');
  });
});
