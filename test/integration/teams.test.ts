/**
 * The Teams surface end to end: Teams activities POSTed to the real bot (teams-ai on botbuilder)
 * at /api/messages, whose replies, card updates and proactive alerts go to a loopback Bot
 * Connector; the directory is a real slapd, the store PostgreSQL.
 */
import { generateKeyPairSync, sign as signWith } from 'node:crypto';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/store/db.ts';
import { DRIVERS, type Driver, createTestApp, ldapConnection } from '../support/app.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ALICE, MALLORY, type TeamsPerson, VICTOR, actionInvoke, cardActions, cardTexts, channelMention, personalMessage, postActivity, searchInvoke } from '../support/teams.ts';

const CHAT = { admins: { teams: [ALICE.aadObjectId] }, viewers: { teams: [VICTOR.aadObjectId] } };
const group = (cn: string, ou = 'groups') => `cn=${cn},ou=${ou},dc=example,dc=org`;
const ACTOR_ALICE = `teams:Alice Admin (${ALICE.aadObjectId})`;

type Card = Record<string, unknown>;

interface Harness {
  service: TestService;
  connector: BotConnector;
  /** Sends a message; returns the card the bot replied with and its activity id. */
  say(text: string, options?: { from?: TeamsPerson; conversation?: string; channel?: boolean }): Promise<{ card: Card; id: string; texts: string[] }>;
  /** Clicks a button of a card posted as `activityId`; returns the invoke response. */
  click(button: { verb: string; data: Record<string, unknown> }, activityId: string, from?: TeamsPerson, conversation?: string): Promise<{ status: number; type: string; card: Card | null; message: string | null }>;
  /** Waits for an update of an activity whose card text matches. */
  updated(activityId: string, match: RegExp): Promise<Card>;
  close(): Promise<void>;
}

async function harness(driver: Driver, connections: Array<Record<string, unknown>>, options: { seed?: string[]; chat?: Record<string, unknown> } = {}): Promise<Harness> {
  const connector = await new BotConnector().start();
  const service = await startTestService(driver, connections, { chat: options.chat ?? CHAT });
  for (const statement of options.seed ?? []) await service.app.store.db.execute(sql.raw(statement));
  const h: Harness = {
    service,
    connector,
    async say(text, o = {}) {
      const before = connector.calls.length;
      const activity = o.channel ? channelMention(connector.url, text, o.from ?? ALICE, o.conversation) : personalMessage(connector.url, text, o.from ?? ALICE, o.conversation);
      const r = await postActivity(service.url, activity);
      expect(r.status).toBe(200);
      const reply = await connector.waitFor((calls) => calls.slice(before).find((c) => c.kind === 'reply' && c.status === 201));
      const card = connector.cards((c) => c === reply)[0]!.card;
      return { card, id: reply.activityId!, texts: cardTexts(card) };
    },
    async click(button, activityId, from = ALICE, conversation) {
      const r = await postActivity(service.url, actionInvoke(connector.url, button.verb, button.data, activityId, from, conversation));
      const body = r.body as { statusCode: number; type: string; value: unknown };
      expect(r.status).toBe(200);
      return {
        status: body.statusCode,
        type: body.type,
        card: body.type === 'application/vnd.microsoft.card.adaptive' ? (body.value as Card) : null,
        message: body.type === 'application/vnd.microsoft.activity.message' ? String(body.value) : null,
      };
    },
    async updated(activityId, match) {
      const call = await connector.waitFor((calls) =>
        calls.find((c) => c.kind === 'update' && c.activityId === activityId && c.status === 200 && match.test(cardTexts(connector.cards((x) => x === c)[0]?.card).join('\n'))),
      );
      return connector.cards((c) => c === call)[0]!.card;
    },
    async close() {
      await service.close();
      await connector.stop();
    },
  };
  return h;
}

const rowsOf = <T,>(h: Harness, text: string): Promise<T[]> => queryRows<T>(h.service.app.store.db, sql.raw(text));

/** The first alert card posted to a conversation. */
const alertIn = (h: Harness, conversation: string) =>
  h.connector.waitFor((calls) =>
    calls.find((c) => BotConnector.isPost(c) && c.status === 201 && c.conversationId === conversation && cardTexts(c.body)[0]?.startsWith('⚠️')),
  );

const button = (card: Card, verb: string, title?: RegExp) => {
  const found = cardActions(card).find((a) => a.verb === verb && (!title || title.test(a.title)));
  if (!found) throw new Error(`no ${verb} button on the card: ${JSON.stringify(cardActions(card))}`);
  return found;
};

describe('Teams surface', () => {
  let ldap: SlapdHandle;
  let h: Harness | null = null;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await ldap?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('answers help, health and status in a personal chat and on a channel @mention', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const help = await h.say('help');
    for (const name of ['health', 'status CONNECTION', 'sync CONNECTION', 'conflicts CONNECTION', 'duplicates CONNECTION', 'map USER LOCAL-USER', 'subscribe']) {
      expect(help.texts.join('\n')).toContain(name);
    }
    const health = await h.say('health', { channel: true });
    expect(health.texts[0]).toBe('Sync health');
    expect(health.texts.join('\n')).toMatch(/corp.*\n.*never synced/);
    const status = await h.say('status corp');
    expect(status.texts).toEqual(expect.arrayContaining(['Enabled: yes', 'Synced users: 0', 'Conflicts: 0', 'SSL status: no TLS', 'Last sync: —']));
    expect(status.texts).toContain('No attempts yet.');
    expect(cardActions(status.card).map((a) => a.verb)).toEqual(['sync.start', 'sync.start', 'conflicts.show', 'duplicates.show', 'runs.show']);
  });

  it('acknowledges a sync at once, then updates the same card with the result counters', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops', 'app-admins'] } })]);
    const ack = await h.say('sync corp');
    expect(ack.texts.join('\n')).toMatch(new RegExp(`Sync of corp requested by ${ACTOR_ALICE.replace(/[()]/g, '\\$&')}`));
    const result = await h.updated(ack.id, /Run #\d+ of corp (succeeded|applied)/);
    const texts = cardTexts(result);
    // The outcome comes first, then the counters, one line per kind, and the provisioning summary.
    expect(texts[1]).toMatch(/^Status: applied/);
    expect(texts).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2 created · \d+ modified · \d+ deleted · \d+ duplicated$/),
        expect.stringMatching(/^\d+ created · \d+ updated · \d+ deactivated · \d+ conflicts · \d+ ignored$/),
        expect.stringMatching(/^5 added · \d+ removed$/),
        expect.stringMatching(/^\d+ impacted · \d+ success · \d+ unsynced · \d+ partial · \d+ failed$/),
      ]),
    );
    const [run] = await rowsOf<{ trigger: string; actor: string; status: string }>(h, 'select trigger, actor, status from runs');
    expect(run).toMatchObject({ trigger: 'chat', actor: ACTOR_ALICE });
    // history and one run
    const runs = await h.say('runs corp');
    expect(runs.texts.join('\n')).toMatch(/\*\*#1\*\* (applied|partial)/);
    const one = await h.say('run 1');
    expect(one.texts.join('\n')).toMatch(/Audit/);
    expect(one.texts.join("\n")).toMatch(/created group |created user /);
  });

  it.each([
    { what: 'cannot be posted (the service answers 500)', status: 500 as const },
    { what: 'comes back without an id', status: 'no-id' as const },
  ])('starts a sync even when its first answer $what, and the result reaches the conversation', async ({ status }) => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const before = h.connector.calls.length;
    h.connector.failNext(1, 'reply', status);
    const r = await postActivity(h.service.url, personalMessage(h.connector.url, 'sync corp'));
    expect(r.status).toBe(200);
    // The result reaches the conversation (in the first answer, or in a message of its own), and the run was recorded.
    const result = await h.connector.waitFor((calls) =>
      calls.slice(before).find((c) => (BotConnector.isPost(c) || c.kind === 'update') && c.status < 300 && /Run #1 of corp/.test(cardTexts(h!.connector.cards((x) => x === c)[0]?.card).join('\n'))),
    );
    expect(result).toBeDefined();
    const [run] = await rowsOf<{ status: string; trigger: string }>(h, 'select status, trigger from runs');
    expect(run).toMatchObject({ status: 'success', trigger: 'chat' });
  });

  it('starts a sync from a "Sync now" button even when its first answer cannot be posted, and the result reaches the conversation', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const health = await h.say('health');
    const before = h.connector.calls.length;
    h.connector.failNext(1, 'reply', 400);
    const clicked = await h.click(button(health.card, 'sync.start'), health.id);
    expect(clicked.card).toBeNull(); // the health card stays; the sync answers in a message of its own
    const result = await h.connector.waitFor(
      (calls) => calls.slice(before).find((c) => (BotConnector.isPost(c) || c.kind === 'update') && c.status < 300 && /Run #1 of corp/.test(cardTexts(h!.connector.cards((x) => x === c)[0]?.card).join('\n'))),
      60_000, // a sync in a worker thread, on a shared machine
    );
    expect(result).toBeDefined();
    expect(h.connector.calls.slice(before).filter((c) => c.kind === 'reply').map((c) => c.status)[0]).toBe(400);
    expect(await rowsOf(h, 'select status, trigger from runs')).toEqual([{ status: 'success', trigger: 'chat' }]);
  });

  it('says "already running" for a second sync while one runs', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] }, timeoutSeconds: 10 })]);
    ldap.pause();
    try {
      const first = await h.say('sync corp');
      await h.connector.waitFor(() => true);
      // Answered at once, in the first reply: this process runs that sync.
      const second = await h.say('sync corp');
      expect(second.texts[0]).toBe('Already running');
      expect(second.texts.join('\n')).toMatch(/a sync of "corp" is already running since .* UTC \((run #1, )?(starting|reading groups)\)/);
      ldap.resume();
      await h.updated(first.id, /Run #1 of corp/);
    } finally {
      ldap.resume();
    }
  });

  it('answers 400 to an activity without a type, or a body that is no activity, and acts on nothing', async () => {
    h = await harness('postgres', [ldapConnection(ldap)]);
    const { type: _type, ...untyped } = personalMessage(h.connector.url, 'sync corp');
    const missing = await postActivity(h.service.url, untyped);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: expect.stringMatching(/activity has no type/) });
    expect((await postActivity(h.service.url, { ...untyped, type: 42 })).status).toBe(400);
    const notAnObject = await fetch(`${h.service.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '["message"]' });
    expect(notAnObject.status).toBe(400);
    const message = personalMessage(h.connector.url, 'sync corp');
    for (const [field, broken] of [
      ['conversation.id', { ...message, conversation: {} }],
      ['from.id', { ...message, from: { name: 'Nobody' } }],
    ] as const) {
      const answer = await postActivity(h.service.url, broken);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: expect.stringContaining(field) });
    }
    expect(h.connector.calls).toEqual([]);
    expect(await rowsOf(h, 'select id from runs')).toEqual([]);
  });

  it('acts once per activity: the same message or click sent again (a retry or a replay) does nothing again', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const message = personalMessage(h.connector.url, 'sync corp');
    expect((await postActivity(h.service.url, message)).status).toBe(200);
    await h.connector.waitFor((calls) => calls.find((c) => c.kind === 'update' && /Run #1 of corp/.test(cardTexts(c.body).join('\n'))));
    await h.service.teams.idle();
    const calls = h.connector.calls.length;
    expect((await postActivity(h.service.url, message)).status).toBe(200);
    await h.service.teams.idle();
    expect(h.connector.calls.length).toBe(calls);
    const click = actionInvoke(h.connector.url, 'sync.start', { connection: 'corp' }, 'activity-1');
    const first = await postActivity(h.service.url, click);
    expect((first.body as { type: string }).type).toBe('application/vnd.microsoft.activity.message');
    await h.service.teams.idle();
    const again = await postActivity(h.service.url, click);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: 'This was done already.' });
    await h.service.teams.idle();
    expect(await rowsOf(h, 'select id from runs order by id')).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('explains wrong commands and arguments with the usage line', async () => {
    h = await harness('postgres', [ldapConnection(ldap)]);
    const missing = await h.say('sync');
    expect(missing.texts).toEqual(['I did not understand that', 'sync needs CONNECTION', 'Usage: sync CONNECTION [GROUP…] [--kind group|security] [--dry-run] [--full]', 'Help: type "help" for every command, with examples']);
    expect((await h.say('stauts corp')).texts[1]).toBe('"stauts" is not a command; did you mean "status"?');
    expect((await h.say('sync corp --kind everything')).texts[1]).toBe('--kind must be "group" or "security", not "everything"');
    expect((await h.say('status nowhere')).texts).toEqual(['Not found', 'no connection named "nowhere" (configured: corp)']);
    expect((await h.say('link corp "Finance')).texts[1]).toMatch(/quote is not closed/);
  });

  it('refuses changes to viewers and everything to unknown users, saying why', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const refused = await h.say('sync corp', { from: VICTOR });
    expect(refused.texts[0]).toBe('Not allowed');
    expect(refused.texts[1]).toMatch(/"sync" changes the directory sync, so it is for groupsync admins only; Teams user Victor Viewer \(AAD object id 0b6e2b55-2f8c-4c3c-9d1e-7a8b9c0d1e02\) is a viewer/);
    expect(await rowsOf(h, 'select id from runs')).toEqual([]);
    // A dry run changes nothing, but reads the whole directory: it is for admins too.
    const dry = await h.say('sync corp --dry-run', { from: VICTOR });
    expect(dry.texts[0]).toBe('Not allowed');
    expect(await rowsOf(h, 'select id from runs')).toEqual([]);
    const stranger = await h.say('health', { from: MALLORY });
    expect(stranger.texts[0]).toBe('Not allowed');
    expect(stranger.texts[1]).toMatch(/Mallory Nobody.*may not use groupsync/);
  });

  it('maps, ignores, links and unlinks by command, audited with the Teams user as actor', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    const [candidate] = await rowsOf<{ id: number }>(h, `select id from local_users where login = 'jdoe2'`);
    const mapped = await h.say(`map jdoe #${candidate!.id}`);
    expect(mapped.texts[0]).toBe('Mapped');
    expect(mapped.texts[1]).toBe(`jdoe (corp) is now mapped to local user #${candidate!.id} jdoe2`);
    expect((await h.say(`map jdoe #${candidate!.id}`)).texts[1]).toMatch(new RegExp(`jdoe was already resolved by teams:Alice Admin .* \\((?:.+ ago|just now), \\d\\d:\\d\\d UTC\\): mapped to local user #${candidate!.id}`));
    expect((await h.say('ignore jdoe')).texts[0]).toBe('Ignored');
    expect((await h.say('unignore jdoe')).texts[0]).toBe('Unignored');
    const linked = await h.say('link corp "app-ops" --kind security');
    expect(linked.texts.slice(0, 2)).toEqual(['Linked', 'app-ops is linked to corp as security; it is synced from the next run.']);
    expect((await h.say('unlink corp app-ops')).texts[0]).toBe('Unlinked');
    const audit = await rowsOf<{ action: string; actor: string }>(h, `select action, actor from audit_log where run_id is null order by id`);
    expect(audit.map((a) => a.action)).toEqual(['user.mapped', 'user.ignored', 'user.unignored', 'link.created', 'link.removed']);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([ACTOR_ALICE]));
  });

  it('alerts when a linked group turns red (a conflict), offers the fix, and resolves when health is green again', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    const channel = '19:links@thread.tacv2';
    await h.say('subscribe', { channel: true, conversation: channel });
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    const alert = await alertIn(h, channel);
    const alertCard = h.connector.cards((c) => c === alert)[0]!.card;
    expect(cardTexts(alertCard).slice(0, 2)).toEqual(['⚠️ Linked group needs attention — corp', 'edge-users: 1 user conflict pending']);
    expect(cardActions(alertCard).map((a) => a.title)).toEqual(['Conflicts', 'Duplicates', 'Status']);
    // "Conflicts" on the alert posts the list as a message of its own; map from there.
    const opened = await h.click(button(alertCard, 'conflicts.show'), alert.activityId!, ALICE, channel);
    expect(opened.message).toBe('2 users to resolve in corp');
    const list = await h.connector.waitFor((calls) => calls.find((c) => BotConnector.isPost(c) && c.conversationId === channel && cardTexts(c.body)[0] === 'Users to resolve in corp'));
    const listCard = h.connector.cards((c) => c === list)[0]!.card;
    const mapped = await h.click(button(listCard, 'conflict.map', /jdoe2/), list.activityId!, ALICE, channel);
    expect(cardTexts(mapped.card)[1]).toMatch(/^jdoe mapped to local user #\d+ jdoe2/);
    expect(h.connector.calls.filter((c) => c.kind === 'update' && c.activityId === alert.activityId)).toEqual([]);
    // Health is re-evaluated at the next tick: the link is green, the alert card says resolved.
    await h.service.app.scheduler.tick(new Date());
    await h.updated(alert.activityId!, /Resolved: Linked group needs attention — corp/);
  });

  it('posts and resolves alerts of incidents opened by another process (the CLI) at the next scheduler tick', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] }, timeoutSeconds: 2 })]);
    const channel = '19:cli-alerts@thread.tacv2';
    await h.say('subscribe', { channel: true, conversation: channel });
    // The CLI: the same store and engine, no chat surfaces.
    const cli = await createTestApp('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] }, timeoutSeconds: 2 })], { store: h.service.app.store });
    ldap.pause();
    try {
      expect((await cli.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'cli:ops' })).run.status).toBe('failed');
    } finally {
      ldap.resume();
    }
    const [pending] = await rowsOf<{ cause: string; alerted_at: Date | null }>(h, 'select cause, alerted_at from incidents');
    expect(pending).toEqual({ cause: 'run_failed', alerted_at: null });
    expect(h.connector.cards((c) => BotConnector.isPost(c) && c.conversationId === channel && cardTexts(c.body)[0]!.startsWith('⚠️'))).toEqual([]);
    await h.service.app.scheduler.tick(new Date());
    const alert = await alertIn(h, channel);
    expect(cardTexts(h.connector.cards((c) => c === alert)[0]!.card)[0]).toBe('⚠️ Sync failed — corp');
    // Fixed from the CLI too: the next tick turns the same card into "Resolved".
    expect((await cli.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'cli:ops' })).run.status).toBe('success');
    await h.service.app.scheduler.tick(new Date());
    await h.updated(alert.activityId!, /Resolved: Sync failed — corp/);
    // Delivered once: another tick posts nothing more.
    const calls = h.connector.calls.length;
    await h.service.app.scheduler.tick(new Date());
    expect(h.connector.calls.length).toBe(calls);
  });

  it('makes members of a synced directory admin group admins, matched by their Teams mail', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-admins'] } })], {
      chat: { admins: { teams: [ALICE.aadObjectId], directoryGroups: [{ connection: 'corp', group: 'app-admins' }] }, viewers: { everyone: true } },
    });
    const carol = { id: '29:carol', name: 'Carol Ops', aadObjectId: '5a5a5a5a-1111-4222-8333-444455556666' };
    h.connector.members.set(carol.id, { ...carol, email: 'Carol@Example.org' });
    h.connector.members.set(MALLORY.id, { ...MALLORY, email: 'mallory@example.org' });
    // Before a sync the store knows no members: Carol is a viewer (everyone is).
    expect((await h.say('sync corp', { from: carol })).texts[0]).toBe('Not allowed');
    expect((await h.say('health', { from: carol })).texts[0]).toBe('Sync health');
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    // carol is in app-ops, nested in app-admins.
    const ack = await h.say('sync corp', { from: carol });
    await h.updated(ack.id, /Run #2 of corp/);
    expect((await h.say('sync corp', { from: MALLORY })).texts[0]).toBe('Not allowed');
    expect(h.connector.calls.filter((c) => c.kind === 'member').map((c) => c.status)).toContain(200);
  });

  it('posts an alert to subscribed conversations when a sync fails, backing off when throttled, and updates it when resolved', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] }, timeoutSeconds: 2 })]);
    const channel = '19:ops-alerts@thread.tacv2';
    const sub = await h.say('subscribe', { channel: true, conversation: channel });
    expect(sub.texts[0]).toBe('Subscribed to alerts');
    expect((await h.say('subscribe', { channel: true, conversation: channel })).texts[1]).toBe('This conversation was already subscribed to alerts.');
    const [stored] = await rowsOf<{ surface: string; conversation_key: string; subscribed: boolean; reference: { serviceUrl: string } }>(h, 'select * from conversations');
    expect(stored).toMatchObject({ surface: 'teams', conversation_key: channel, subscribed: true, reference: { serviceUrl: h.connector.url } });
    ldap.pause();
    let failedRun: string;
    try {
      const ack = await h.say('sync corp');
      // The next new message is the alert: Teams throttles it once.
      h.connector.throttleNext(1, 1, 'reply');
      await h.updated(ack.id, /Run #1 of corp failed/);
      failedRun = ack.id;
    } finally {
      ldap.resume();
    }
    const alert = await alertIn(h, channel);
    const alertCard = h.connector.cards((c) => c === alert)[0]!.card;
    expect(cardTexts(alertCard)[0]).toBe('⚠️ Sync failed — corp');
    expect(cardTexts(alertCard)[1]).toMatch(/^Run #1 failed \(DIRECTORY_/);
    expect(cardActions(alertCard).map((a) => a.title)).toEqual(['Sync now', 'Show run', 'Status']);
    // Throttled once with Retry-After: 1 → posted again no sooner than a second later.
    const throttled = h.connector.calls.find((c) => c.status === 429)!;
    expect(throttled.conversationId).toBe(channel);
    expect(alert.at - throttled.at).toBeGreaterThanOrEqual(1000);
    expect(h.connector.cards((c) => BotConnector.isPost(c) && c.conversationId === channel && cardTexts(c.body).some((t) => t.startsWith('⚠️')))).toHaveLength(1);
    expect(failedRun).toBeTruthy();
    // "Sync now" on the alert card: the sync gets a card of its own; the alert turns into "Resolved".
    const clicked = await h.click(button(alertCard, 'sync.start'), alert.activityId!, ALICE, channel);
    expect(clicked.message).toMatch(/Sync of corp requested by/);
    const resolved = await h.updated(alert.activityId!, /Resolved: Sync failed — corp/);
    const syncCard = await h.connector.waitFor((calls) =>
      calls.find((c) => BotConnector.isPost(c) && c.conversationId === channel && cardTexts(c.body)[1]?.startsWith('Sync of corp requested by')),
    );
    await h.updated(syncCard.activityId!, /Run #2 of corp succeeded/);
    await h.service.teams.idle();
    const lastAlert = h.connector.cards((c) => c.kind === 'update' && c.activityId === alert.activityId).at(-1)!;
    expect(cardTexts(lastAlert.card)[0]).toBe('✅ Resolved: Sync failed — corp');
    expect(cardTexts(resolved)).toEqual(expect.arrayContaining([expect.stringMatching(/^Resolved: .*: Run #2 succeeded$/)]));
    expect(cardActions(resolved).map((a) => a.title)).toEqual(['Show run']);
    expect((await h.say('unsubscribe', { channel: true, conversation: channel })).texts[0]).toBe('Unsubscribed from alerts');
  });
});

describe.each(DRIVERS)('Teams buttons on %s', (driver) => {
  let ldap: SlapdHandle;
  let h: Harness | null = null;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await ldap?.stop();
  });
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('maps a conflict with a button once; a second click shows who resolved it and when; a viewer is refused', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    const list = await h.say('conflicts corp');
    expect(list.texts.join('\n')).toMatch(/jdoe.*conflict/);
    const mapTo2 = button(list.card, 'conflict.map', /jdoe2/);
    // A viewer's click is refused to the viewer alone; the card stays as it is.
    const refused = await h.click(mapTo2, list.id, VICTOR);
    expect(refused.card).toBeNull();
    expect(refused.message).toMatch(/Mapping a user changes the directory sync, so it is for groupsync admins only/);
    expect(h.connector.calls.filter((c) => c.kind === 'update' && c.activityId === list.id)).toEqual([]);
    const first = await h.click(mapTo2, list.id);
    expect(cardTexts(first.card)[1]).toMatch(new RegExp(`^jdoe mapped to local user #\\d+ jdoe2 by ${ACTOR_ALICE.replace(/[()]/g, '\\$&')}$`));
    expect(cardTexts(first.card).join('\n')).not.toMatch(/jdoe.*· conflict/);
    // The card was replaced for everyone in the conversation.
    await h.updated(list.id, /jdoe mapped to local user/);
    const again = await h.click(button(list.card, 'conflict.map', /jdoe1/), list.id);
    expect(cardTexts(again.card)[1]).toMatch(/^jdoe was already resolved by teams:Alice Admin \(.*\) \((?:.+ ago|just now), \d\d:\d\d UTC\): mapped to local user #\d+$/);
    const mapping = await rowsOf<{ status: string; resolved_by: string }>(h, `select status, resolved_by from mappings where login = 'jdoe'`);
    expect(mapping).toEqual([{ status: 'mapped', resolved_by: ACTOR_ALICE }]);
  });

  it('shows each candidate with mail, status and last activity, and maps to any local user found by a typeahead search (admins only, once, audited)', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [
        `insert into local_users (login, mail, display_name, active) values ('jdoe1', 'shared@example.org', 'Jo Doe One', true), ('jdoe2', 'SHARED@example.org', null, false), ('zoe', 'zoe.other@example.org', 'Zoë Other_', true)`,
      ],
    });
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    const list = await h.say('conflicts corp');
    const [one] = await rowsOf<{ id: number }>(h, `select id from local_users where login = 'jdoe1'`);
    const [zoe] = await rowsOf<{ id: number }>(h, `select id from local_users where login = 'zoe'`);
    expect(list.texts.find((t) => t.startsWith('**Jo Doe One**'))).toMatch(new RegExp(`^\\*\\*Jo Doe One\\*\\* · #${one!.id} · jdoe1 · shared@example.org · active · last activity (?:(?:.+ ago|just now), )?(?:\\d{4}-\\d\\d-\\d\\d )?\\d\\d:\\d\\d UTC$`));
    expect(list.texts.find((t) => t.startsWith('**jdoe2**'))).toMatch(/ · SHARED@example.org · inactive · last activity /);
    // Typing into the typeahead: the client sends invoke application/search; the bot answers a searchResponse.
    const search = async (text: string, from: TeamsPerson = ALICE) => {
      const r = await postActivity(h!.service.url, searchInvoke(h!.connector.url, 'localUsers', text, from));
      expect(r.status).toBe(200);
      return r.body as { type: string; value: { results: Array<{ title: string; value: string }> } };
    };
    const found = await search('OTHER_');
    expect(found).toEqual({ type: 'application/vnd.microsoft.search.searchResponse', value: { results: [{ title: `#${zoe!.id} Zoë Other_ (zoe) · zoe.other@example.org`, value: String(zoe!.id) }] } });
    expect((await search('%')).value.results).toEqual([]); // LIKE characters are taken literally
    expect((await search('doe')).value.results.map((r) => r.value)).toEqual([String(one!.id), expect.any(String)]);
    expect((await search('zoe', VICTOR)).value.results).toEqual([]); // a viewer may not map, so gets no list
    // The choice comes back with every input of the card; the action names its own.
    const pick = cardActions(list.card).find((a) => a.verb === 'conflict.map' && 'pickInput' in a.data)!;
    const choose = (value: string) => ({ verb: pick.verb, data: { ...pick.data, pick1: '', [String(pick.data.pickInput)]: value } });
    expect((await h.click(choose(String(zoe!.id)), list.id, VICTOR)).message).toMatch(/for groupsync admins only/);
    const mapped = await h.click(choose(String(zoe!.id)), list.id);
    expect(cardTexts(mapped.card)[1]).toMatch(new RegExp(`^jdoe mapped to local user #${zoe!.id} zoe by `));
    const again = await h.click(choose(String(one!.id)), list.id);
    expect(cardTexts(again.card)[1]).toMatch(/^jdoe was already resolved by teams:Alice Admin .*: mapped to local user #\d+$/);
    const audit = await rowsOf<{ actor: string; after: unknown }>(h, `select actor, after from audit_log where action = 'user.mapped'`);
    expect(audit).toEqual([{ actor: ACTOR_ALICE, after: { status: 'mapped', localUserId: zoe!.id } }]);
  });

  it('links or ignores duplicate groups with buttons, once', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { filter: '(cn=developers)' } })], {
      seed: [`insert into local_groups (name, description) values ('Developers', 'made by hand')`],
    });
    await h.updated((await h.say('sync corp')).id, /Run #1/);
    const list = await h.say('duplicates corp');
    expect(list.texts.filter((t) => t === '**developers**')).toHaveLength(2);
    const links = cardActions(list.card).filter((a) => a.verb === 'duplicate.link');
    const ignores = cardActions(list.card).filter((a) => a.verb === 'duplicate.ignore');
    const linked = await h.click(links[0]!, list.id);
    expect(cardTexts(linked.card)[1]).toMatch(/^developers is linked to the existing local group by teams:Alice Admin/);
    const twice = await h.click(links[0]!, list.id);
    expect(cardTexts(twice.card)[1]).toMatch(/^duplicate #\d+ \(developers\) was already linked by teams:Alice Admin .* \((?:.+ ago|just now), \d\d:\d\d UTC\)/);
    const ignored = await h.click(ignores[1]!, list.id);
    expect(cardTexts(ignored.card)).toEqual(expect.arrayContaining(['0 pending duplicates.']));
  });

  it('holds a large deletion for approval: the alert card approves it, then shows resolved', async () => {
    const local = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    try {
      h = await harness(driver, [ldapConnection(local, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
      const channel = '19:approvals@thread.tacv2';
      await h.say('subscribe', { channel: true, conversation: channel });
      await h.updated((await h.say('sync corp')).id, /Run #1/);
      // Deleted with its member value in cycle-a (as referential integrity does): no dangling member.
      await local.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
      const ack = await h.say('sync corp');
      const approval = await h.updated(ack.id, /Approval needed: run #2 of corp/);
      expect(cardTexts(approval)).toEqual(expect.arrayContaining(['Groups to delete: 1']));
      expect(cardTexts(approval).join('\n')).toMatch(/cycle-b/);
      const alert = await alertIn(h, channel);
      const alertCard = h.connector.cards((c) => c === alert)[0]!.card;
      expect(cardTexts(alertCard)[0]).toBe('⚠️ Sync held for approval — corp');
      expect(cardActions(alertCard).map((a) => a.title)).toEqual(['Approve', 'Reject', 'Show run', 'Status']);
      // Approve on the alert: the result is a card of its own; the alert card is left to the incident.
      const approved = await h.click(button(alertCard, 'run.approve'), alert.activityId!, ALICE, channel);
      expect(approved.message).toBe('Run #2 of corp succeeded');
      const result = await h.connector.waitFor((calls) => calls.find((c) => BotConnector.isPost(c) && c.conversationId === channel && cardTexts(c.body)[0] === 'Run #2 of corp succeeded'));
      expect(cardTexts(h.connector.cards((c) => c === result)[0]!.card)[1]).toMatch(/^Approved by Alice Admin;/);
      const resolved = await h.updated(alert.activityId!, /Resolved: Sync held for approval — corp/);
      expect(cardTexts(resolved).join('\n')).toMatch(/Approved by Alice Admin/);
      // The approval card from the sync, clicked again: decided already, by whom and when.
      const late = await h.click(button(approval, 'run.reject'), ack.id);
      expect(cardTexts(late.card).join('\n')).toMatch(/run #2 is not awaiting approval: it is success by teams:Alice Admin/);
      expect(cardActions(late.card).map((a) => a.verb)).toEqual(['run.show']);
      expect(await rowsOf(h, `select 1 from local_groups where name = 'cycle-b'`)).toEqual([]);
      // The same decisions by command.
      expect((await h.say('reject 2')).texts.join('\n')).toMatch(/run #2 is not awaiting approval: it is success by teams:Alice Admin/);
      expect((await h.say('approve 99')).texts).toEqual(['Not found', 'run #99 does not exist']);
    } finally {
      await local.stop();
    }
  });
});

describe('Teams surface with a bot registration (authenticated mode)', () => {
  let ldap: SlapdHandle;
  let service: TestService | null = null;
  let connector: BotConnector | null = null;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await service?.close();
    await connector?.stop();
    await ldap?.stop();
  });

  const forgedJwt = (claims: Record<string, unknown>) => {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${part({ alg: 'RS256', typ: 'JWT', kid: 'forged-key' })}.${part(claims)}.${Buffer.from('not a signature').toString('base64url')}`;
  };

  it('refuses unauthenticated and forged requests before any command runs', async () => {
    connector = await new BotConnector().start();
    service = await startTestService('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })], {
      chat: CHAT,
      teams: { appId: '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10', appPassword: 'client-secret', tenantId: null, appType: 'MultiTenant' },
    });
    const activity = personalMessage(connector.url, 'sync corp');
    const none = await postActivity(service.url, activity);
    expect(none.status).toBe(401);
    const wrongIssuer = await postActivity(service.url, activity, { authorization: `Bearer ${forgedJwt({ iss: 'https://evil.example', aud: '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10', exp: Math.floor(Date.now() / 1000) + 600 })}` });
    expect(wrongIssuer.status).toBe(401);
    const forged = await postActivity(service.url, activity, {
      authorization: `Bearer ${forgedJwt({ iss: 'https://api.botframework.com', aud: '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10', serviceurl: connector.url, exp: Math.floor(Date.now() / 1000) + 600 })}`,
    });
    expect(forged.status).toBe(401);
    // Expired, and signed with a key the bot cannot fetch (the OpenID key endpoint is out of
    // reach here): refused as unauthenticated, and the answer tells nothing of the cause.
    const expired = await postActivity(service.url, activity, {
      authorization: `Bearer ${forgedJwt({ iss: 'https://api.botframework.com', aud: '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10', serviceurl: connector.url, exp: Math.floor(Date.now() / 1000) - 3600 })}`,
    });
    expect(expired.status).toBe(401);
    for (const refused of [forged, expired, wrongIssuer, none]) expect(refused.body).toEqual({ error: 'not authenticated' });
    expect(connector.calls).toEqual([]);
    expect(await queryRows(service.app.store.db, sql`select id from runs`)).toEqual([]);
    expect(await queryRows(service.app.store.db, sql`select id from audit_log`)).toEqual([]);
  });

  /** A token signed with `key` (RS256), of the Bot Framework's issuer, for this bot. */
  const signedJwt = (key: ReturnType<typeof generateKeyPairSync>['privateKey'], kid: string, claims: Record<string, unknown>) => {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const body = `${part({ alg: 'RS256', typ: 'JWT', kid })}.${part({ iss: 'https://api.botframework.com', aud: APP_ID, ...claims })}`;
    return `${body}.${signWith('sha256', Buffer.from(body), key).toString('base64url')}`;
  };
  const APP_ID = '3f1c0c55-8a0e-4a51-9d0e-5b1f7c2a9e10';

  it('answers 401 without internals when the key endpoint cannot be reached, and to an expired or forged token checked against published keys', async () => {
    // The Bot Framework's OpenID metadata and keys on a loopback server: one published key.
    const published = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const asked: string[] = [];
    const keys: Server = createHttpServer((req, res) => {
      asked.push(req.url ?? '');
      const base = `http://127.0.0.1:${(keys.address() as AddressInfo).port}`;
      const body = req.url === '/openid' ? { issuer: 'https://api.botframework.com', jwks_uri: `${base}/keys` } : { keys: [{ ...published.publicKey.export({ format: 'jwk' }), kid: 'published', use: 'sig', endorsements: ['msteams'] }] };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => keys.listen(0, '127.0.0.1', resolve));
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const teams = (openIdMetadataUrl: string) => ({ appId: APP_ID, appPassword: 'client-secret', tenantId: null, appType: 'MultiTenant' as const, openIdMetadataUrl });
    const ldapConn = ldapConnection(ldap, { groups: { list: ['app-ops'] } });
    connector = await new BotConnector().start();
    const activity = personalMessage(connector.url, 'sync corp');
    const now = Math.floor(Date.now() / 1000);
    try {
      // The key endpoint is out of reach (nothing listens there): refused, and the answer says nothing of why.
      service = await startTestService('postgres', [ldapConn], { chat: CHAT, teams: teams(`http://127.0.0.1:${closedPort}/openid`) });
      for (const exp of [now + 600, now - 3600]) {
        const r = await postActivity(service.url, activity, { authorization: `Bearer ${signedJwt(other.privateKey, 'published', { serviceurl: connector.url, exp })}` });
        expect(r).toEqual({ status: 401, body: { error: 'not authenticated' } });
      }
      await service.close();
      // The keys are published: an expired token signed with the published key, and one whose
      // signature is not the key's, are refused alike.
      service = await startTestService('postgres', [ldapConn], { chat: CHAT, teams: teams(`http://127.0.0.1:${(keys.address() as AddressInfo).port}/openid`) });
      const expired = await postActivity(service.url, activity, { authorization: `Bearer ${signedJwt(published.privateKey, 'published', { serviceurl: connector.url, exp: now - 3600 })}` });
      const forged = await postActivity(service.url, activity, { authorization: `Bearer ${signedJwt(other.privateKey, 'published', { serviceurl: connector.url, exp: now + 600 })}` });
      for (const r of [expired, forged]) expect(r).toEqual({ status: 401, body: { error: 'not authenticated' } });
      expect(asked).toEqual(expect.arrayContaining(['/openid', '/keys']));
      expect(connector.calls).toEqual([]);
      expect(await queryRows(service.app.store.db, sql`select id from runs`)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => keys.close(() => resolve()));
    }
  });
});
