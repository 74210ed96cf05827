/**
 * The Slack surface end to end: signed slash commands, block_actions and Events API requests
 * POSTed to the real bolt app at /slack/events on the service's HTTP server; the bot's Web API
 * calls and response_url posts go to a loopback Slack. The directory is a real slapd, the store
 * PGlite (and PostgreSQL for the button flow).
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { queryRows } from '../../src/store/db.ts';
import { type Driver, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, SERVICE_ACCOUNT, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import {
  ADMIN,
  BOT_TOKEN,
  CHANNEL,
  SIGNING_SECRET,
  STRANGER,
  type SlackPerson,
  type SlackRequest,
  VIEWER,
  appMention,
  blockAction,
  directMessage,
  postSlack,
  sign,
  slashCommand,
  urlVerification,
} from '../support/slack.ts';
import { type ApiCall, type BlockButton, SlackApi, blockButtons, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { type SlackTestService, startSlackService } from '../support/slack-service.ts';

const CHAT = { admins: { slack: [ADMIN.id] }, viewers: { slack: [VIEWER.id] } };
const ACTOR = `slack:${ADMIN.name} (${ADMIN.id})`;
const group = (cn: string, ou = 'groups') => `cn=${cn},ou=${ou},dc=example,dc=org`;
const re = (text: string) => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

interface Msg {
  readonly channel: string;
  readonly ts: string;
}

interface Shown {
  readonly text: string;
  readonly buttons: BlockButton[];
  readonly updates: number;
  readonly blocks: unknown[];
}

interface Harness {
  readonly service: SlackTestService;
  readonly api: SlackApi;
  /** Sends a signed request and waits until the bot has done everything it started. */
  send(request: SlackRequest): Promise<{ status: number; body: string; ms: number; calls: ApiCall[] }>;
  command(text: string, options?: { user?: SlackPerson; channel?: { id: string; name: string } }): Promise<Msg & Shown>;
  click(msg: Msg, button: BlockButton, user?: SlackPerson): Promise<ApiCall[]>;
  shown(msg: Msg): Shown;
  close(): Promise<void>;
}

let responses = 0;

async function harness(driver: Driver, connections: Array<Record<string, unknown>>, options: { seed?: string[]; env?: Record<string, string> } = {}): Promise<Harness> {
  const api = await new SlackApi().start();
  api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
  api.addUser({ id: VIEWER.id, name: VIEWER.name, realName: 'Victor Viewer', email: 'victor@example.org' });
  const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
  const service = await startSlackService(driver, connections, { slack, chat: CHAT, ...(options.env ? { env: options.env } : {}) });
  for (const statement of options.seed ?? []) await service.app.store.db.execute(sql.raw(statement));
  const shown = (msg: Msg): Shown => {
    const m = api.message(msg.channel, msg.ts);
    if (!m) throw new Error(`no message ${msg.channel}/${msg.ts}`);
    return { text: unescapeMrkdwn(blockTexts(m.blocks).join('\n')), buttons: blockButtons(m.blocks), updates: m.updates, blocks: m.blocks };
  };
  const h: Harness = {
    service,
    api,
    async send(request) {
      const before = api.calls.length;
      const r = await postSlack(service.eventsUrl, request);
      // The HTTP answer is the acknowledgement; the work goes on after it.
      await service.slack.idle();
      return { ...r, calls: api.calls.slice(before) };
    },
    async command(text, o = {}) {
      const r = await h.send(slashCommand(text, { ...(o.user ? { user: o.user } : {}), ...(o.channel ? { channel: o.channel } : {}), responseUrl: api.responseUrl(`cmd-${++responses}`) }));
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      const posted = r.calls.find((c) => c.method === 'chat.postMessage' && c.status === 200 && c.response.ok);
      if (!posted) throw new Error(`no reply to "${text}": ${JSON.stringify(r.calls.map((c) => c.method))}`);
      const msg = { channel: String(posted.response.channel), ts: String(posted.response.ts) };
      return { ...msg, ...shown(msg) };
    },
    async click(msg, button, user = ADMIN) {
      const r = await h.send(blockAction({ actionId: button.actionId, value: button.value, label: button.label }, { user, channel: msg.channel, messageTs: msg.ts, responseUrl: api.responseUrl(`act-${++responses}`) }));
      expect(r.status).toBe(200);
      expect(r.body).toBe('');
      return r.calls;
    },
    shown,
    async close() {
      await service.close();
      await api.stop();
    },
  };
  return h;
}

const rowsOf = <T,>(h: Harness, text: string): Promise<T[]> => queryRows<T>(h.service.app.store.db, sql.raw(text));

const button = (s: { buttons: BlockButton[] }, verb: string, label?: RegExp) => {
  const found = s.buttons.find((b) => b.verb === verb && (!label || label.test(b.label)));
  if (!found) throw new Error(`no ${verb} button: ${JSON.stringify(s.buttons.map((b) => `${b.verb} ${b.label}`))}`);
  return found;
};

describe('Slack surface', () => {
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

  it('verifies every request: answers the url_verification challenge, refuses forged, wrongly signed and stale requests with 401 and does nothing', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const challenge = urlVerification();
    const ok = await postSlack(h.service.eventsUrl, challenge);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ challenge: challenge.challenge });
    const before = h.api.calls.length;
    const request = slashCommand('subscribe', { responseUrl: h.api.responseUrl('forged') });
    const now = Math.floor(Date.now() / 1000);
    expect((await postSlack(h.service.eventsUrl, request, { signature: `v0=${'0'.repeat(64)}` })).status).toBe(401);
    expect((await postSlack(h.service.eventsUrl, request, { secret: 'not-the-signing-secret' })).status).toBe(401);
    // Correctly signed, but six minutes old: a replay.
    expect((await postSlack(h.service.eventsUrl, request, { timestampSeconds: now - 360, signature: sign(request.body, now - 360) })).status).toBe(401);
    // A signature over another body.
    expect((await postSlack(h.service.eventsUrl, request, { signature: sign(slashCommand('health', { responseUrl: 'x' }).body, now) })).status).toBe(401);
    await h.service.slack.idle();
    expect(h.api.calls.slice(before)).toEqual([]);
    expect(await rowsOf(h, 'select * from conversations')).toEqual([]);
    expect(await rowsOf(h, 'select * from audit_log')).toEqual([]);
  });

  it('answers the slash command at once and posts help, health, status, runs and run in the channel', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const sent = await postSlack(h.service.eventsUrl, slashCommand('help', { responseUrl: h.api.responseUrl('help') }));
    expect(sent.status).toBe(200);
    expect(sent.ms).toBeLessThan(3000);
    await h.service.slack.idle();
    const help = h.shown({ channel: CHANNEL.id, ts: h.api.messages(CHANNEL.id)[0]!.ts });
    expect(help.text).toMatch(/^groupsync commands/);
    for (const usage of ['status <connection>', 'sync <connection> [group…] [--kind group|security] [--dry-run]', 'approve <run id>', 'unsubscribe']) expect(help.text).toContain(usage);
    expect(help.text).toContain('/groupsync <command>');
    const posted = h.api.ok('chat.postMessage')[0]!;
    expect(posted.params).toMatchObject({ channel: CHANNEL.id, text: 'groupsync commands' });
    expect(h.api.ok('auth.test')).toHaveLength(1);

    const sync = await h.command('sync corp');
    expect(h.shown(sync).text).toMatch(/^Run #1 of corp succeeded/);
    const health = await h.command('health');
    expect(health.text).toMatch(/Sync health/);
    expect(health.text).toMatch(/corp\* \(ldap\)/);
    expect(health.text).toMatch(/app-ops\* · green — corp · group · 2 members/);
    expect(health.buttons.map((b) => `${b.label} ${b.verb}`)).toEqual(['Status status.show', 'Sync now sync.start']);
    const status = await h.command('status corp');
    expect(status.text).toMatch(/Synced users\*\n2/);
    expect(status.text).toMatch(/#1 · success · chat/);
    const runs = await h.command('runs corp');
    expect(runs.text).toMatch(/\*#1\* success\nchat by slack:alice \(UADMIN1\)/);
    const run = await h.command('run 1');
    expect(run.text).toMatch(/^Run #1 of corp succeeded/);
    expect(run.text).toMatch(/\*Audit\*\n.*slack:alice \(UADMIN1\): group\.created/);
  });

  it('acknowledges a sync at once, then updates the same message with progress and the result counters', async () => {
    h = await harness('pglite', [ldapConnection(ldap)]);
    const r = await h.send(slashCommand('sync corp', { responseUrl: h.api.responseUrl('sync') }));
    const posted = r.calls.find((c) => c.method === 'chat.postMessage')!;
    expect(blockTexts(posted.params.blocks).join('\n')).toMatch(re(`Sync of corp requested by ${ACTOR}: starting…`));
    const ts = h.api.messages(CHANNEL.id)[0]!.ts;
    const updates = r.calls.filter((c) => c.method === 'chat.update' && c.status === 200);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.every((u) => u.params.ts === ts && u.params.channel === CHANNEL.id)).toBe(true);
    const final = h.shown({ channel: CHANNEL.id, ts });
    expect(final.text).toMatch(/^Run #1 of corp applied, with 2 skipped entries/); // dave (no mail), a dangling member value
    expect(final.text).toMatch(/\*Groups:\* created \d+ · modified 0/);
    expect(final.buttons.map((b) => b.label)).toEqual(['Sync again', 'Details']);
    expect(h.api.messages(CHANNEL.id)).toHaveLength(1);
  });

  it('answers an app mention in its channel and a direct message in the DM, once per event', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const mention = await h.send(appMention('health'));
    expect(mention.status).toBe(200);
    const inChannel = mention.calls.find((c) => c.method === 'chat.postMessage')!;
    expect(inChannel.params.channel).toBe(CHANNEL.id);
    expect(blockTexts(inChannel.params.blocks)[0]).toBe('Sync health');
    const dm = directMessage('status <mailto:corp@example.org|corp@example.org>');
    const first = await h.send(dm);
    const inDm = first.calls.find((c) => c.method === 'chat.postMessage')!;
    expect(inDm.params.channel).toBe('D0ALICE01');
    // "corp@example.org" is no connection: the command came through as typed, not as Slack's link.
    expect(unescapeMrkdwn(blockTexts(inDm.params.blocks).join('\n'))).toMatch(/corp@example\.org/);
    const status = await h.send(directMessage('status corp'));
    expect(blockTexts(status.calls.find((c) => c.method === 'chat.postMessage')!.params.blocks)[0]).toBe('🔴 corp');
    // Slack retrying an event it thinks was lost: answered once.
    const retried = await postSlack(h.service.eventsUrl, dm, { retryNum: 1 });
    expect(retried.status).toBe(200);
    await h.service.slack.idle();
    expect(h.api.ok('chat.postMessage').filter((c) => c.params.channel === 'D0ALICE01')).toHaveLength(2);
    // The audit actor of an event (which carries only the user id) gets the name from users.info.
    await h.send(directMessage('subscribe'));
    const [audit] = await rowsOf<{ actor: string; target_id: string }>(h, `select actor, target_id from audit_log where action = 'alerts.subscribed'`);
    expect(audit).toEqual({ actor: 'slack:Alice Admin (UADMIN1)', target_id: 'slack:D0ALICE01' });
    // The bot's own messages and edits are not commands.
    const own = await h.send({ body: JSON.stringify({ ...JSON.parse(directMessage('health').body), event: { type: 'message', subtype: 'bot_message', bot_id: 'BBOT0001', text: 'health', channel: 'D0ALICE01', channel_type: 'im', ts: '1.2' } }), contentType: 'application/json' });
    expect(own.calls).toEqual([]);
  });

  it('refuses changes to viewers and everything to unknown users, saying why, and explains wrong commands', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const viewer = await h.command('map jdoe #1', { user: VIEWER });
    expect(viewer.text).toMatch(/^🔴 Not allowed/);
    expect(viewer.text).toMatch(/"map" changes the directory sync, so it is for groupsync admins only; Slack user victor \(UVIEW01\) is a viewer/);
    expect((await h.command('health', { user: VIEWER })).text).toMatch(/^Sync health/);
    const stranger = await h.command('health', { user: STRANGER });
    expect(stranger.text).toMatch(/Slack user mallory \(UNOBODY9\) may not use groupsync/);
    const typo = await h.command('stauts corp');
    expect(typo.text).toMatch(/"stauts" is not a command; did you mean "status"\?/);
    expect(typo.text).toMatch(/\*Usage\*\nstatus <connection>/);
    expect(await rowsOf(h, 'select * from audit_log')).toEqual([]);
  });

  it('maps, ignores, unignores, links, unlinks and (un)subscribes by command, audited with the Slack user as actor', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    await h.command('sync corp');
    const [jdoe2] = await rowsOf<{ id: number }>(h, `select id from local_users where login = 'jdoe2'`);
    expect((await h.command(`map jdoe #${jdoe2!.id}`)).text).toMatch(new RegExp(`^✅ Mapped\\njdoe \\(corp\\) is now mapped to local user #${jdoe2!.id} jdoe2`));
    expect((await h.command('ignore erin')).text).toMatch(/^✅ Ignored\nerin \(corp\) is skipped by every sync/);
    expect((await h.command('unignore erin')).text).toMatch(/^✅ Unignored/);
    const linked = await h.command('link corp app-ops');
    expect(linked.text).toMatch(/^✅ Linked\napp-ops is linked to corp as group/);
    expect(linked.buttons.map((b) => b.verb)).toEqual(['sync.start']);
    expect((await h.command('unlink corp app-ops')).text).toMatch(/^✅ Unlinked/);
    expect((await h.command('subscribe')).text).toMatch(/^✅ Subscribed to alerts/);
    expect((await h.command('subscribe')).text).toMatch(/This conversation was already subscribed to alerts\./);
    expect((await h.command('unsubscribe')).text).toMatch(/^✅ Unsubscribed from alerts/);
    const audit = await rowsOf<{ action: string; actor: string }>(
      h,
      `select action, actor from audit_log where action in ('user.mapped', 'user.ignored', 'user.unignored', 'link.created', 'link.removed', 'alerts.subscribed', 'alerts.unsubscribed') order by id`,
    );
    expect(audit.map((a) => a.action)).toEqual(['user.mapped', 'user.ignored', 'user.unignored', 'link.created', 'link.removed', 'alerts.subscribed', 'alerts.unsubscribed']);
    expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([ACTOR]));
    const [conversation] = await rowsOf<{ surface: string; conversation_key: string; reference: unknown; subscribed: boolean }>(h, 'select * from conversations');
    expect(conversation).toMatchObject({ surface: 'slack', conversation_key: CHANNEL.id, reference: { channel: CHANNEL.id, team: 'T0EXAMPLE' }, subscribed: false });
  });

  it('pages a long list: Next updates the same message with the next page', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    await h.command('sync corp');
    await h.service.app.store.db.execute(sql.raw(`insert into runs (connection, trigger, actor, status) select 'corp', 'manual', 'test', 'success' from generate_series(1, 13)`));
    const runs = await h.command('runs corp');
    expect(runs.text).toMatch(/1–10 of 14/);
    await h.click(runs, button(runs, 'page', /Next/));
    const next = h.shown(runs);
    expect(next.updates).toBe(1);
    expect(next.text).toMatch(/11–14 of 14/);
    expect(next.text).toMatch(/\*#1\* success/);
    expect(next.buttons.map((b) => b.label)).toEqual(['#4', '#3', '#2', '#1', '◀ Previous']);
  });

  it('retries a Web API call Slack throttles (429) no sooner than its Retry-After', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    h.api.throttleNext('chat.postMessage', 1, 1);
    const r = await h.send(slashCommand('health', { responseUrl: h.api.responseUrl('throttled') }));
    expect(r.status).toBe(200);
    const posts = r.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(h.api.messages(CHANNEL.id)).toHaveLength(1);
  });

  it('a Slack app that cannot start (token refused) leaves the rest of the service running', async () => {
    const api = await new SlackApi().start();
    try {
      const slack: SlackConfig = { botToken: 'xoxp-not-a-bot-token', mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
      const service = await startSlackService('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })], { slack, chat: CHAT });
      try {
        expect(api.calls.map((c) => `${c.method} ${String(c.response.error ?? 'ok')}`)).toContain('auth.test not_authed');
        const health = await fetch(service.eventsUrl.replace('/slack/events', '/healthz'));
        expect(health.status).toBe(200);
        const refused = await postSlack(service.eventsUrl, slashCommand('health', { responseUrl: api.responseUrl('down') }));
        expect(refused.status).toBe(503);
        const run = await service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
        expect(run.run.status).toBe('success');
      } finally {
        await service.close();
      }
    } finally {
      await api.stop();
    }
  });

  it('answers through the response URL where the bot may not post', async () => {
    h = await harness('pglite', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    h.api.notIn.add('C0PRIVATE1');
    const r = await h.send(slashCommand('health', { channel: { id: 'C0PRIVATE1', name: 'privategroup' }, responseUrl: h.api.responseUrl('private') }));
    expect(r.calls.map((c) => `${c.method} ${c.status}`)).toContain('chat.postMessage 200');
    const responded = r.calls.find((c) => c.method === 'response_url')!;
    expect(responded.responseId).toBe('private');
    expect(responded.params).toMatchObject({ response_type: 'in_channel', replace_original: false, text: expect.stringMatching(/^Sync health/) });
  });

  it('posts one alert per incident to a subscribed channel when a sync fails, with next steps, and updates the same message when resolved', async () => {
    const own = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    try {
      h = await harness('pglite', [ldapConnection(own, { bindDn: SERVICE_ACCOUNT.dn, groups: { list: ['app-ops'] } })], { env: { TEST_LDAP_PASSWORD: SERVICE_ACCOUNT.password } });
      const alerts = { id: 'C0OPSALERT', name: 'ops-alerts' };
      expect((await h.command('subscribe', { channel: alerts })).text).toMatch(/^✅ Subscribed to alerts/);
      // The directory no longer accepts the configured password.
      await own.load(`dn: ${SERVICE_ACCOUNT.dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: rotated-elsewhere\n`);
      const failed = await h.command('sync corp');
      expect(failed.text).toMatch(/^Run #1 of corp failed: nothing was applied/);
      expect(failed.text).toMatch(/DIRECTORY_AUTH_FAILED/);
      const posted = h.api.messages(alerts.id);
      // The subscription reply, and one alert.
      expect(posted).toHaveLength(2);
      const alert = h.shown(posted[1]!);
      expect(alert.text).toMatch(/^⚠️ Sync failed — corp\nRun #1 failed \(DIRECTORY_AUTH_FAILED\)/);
      expect(alert.buttons.map((b) => `${b.label} ${b.verb}`)).toEqual(['Sync now sync.start', 'Show run run.show', 'Status status.show']);
      const [incident] = await rowsOf<{ deliveries: Array<{ surface: string; messageId: string }> }>(h, `select deliveries from incidents where cause = 'run_failed'`);
      expect(incident!.deliveries).toEqual([expect.objectContaining({ surface: 'slack', messageId: `${alerts.id}:${posted[1]!.ts}` })]);
      // A second failure does not post a second alert.
      await h.command('sync corp');
      expect(h.api.messages(alerts.id)).toHaveLength(2);
      // Fixed, and "Sync now" clicked on the alert: the sync gets a message of its own, and the
      // alert (same ts) is updated to resolved.
      await own.load(`dn: ${SERVICE_ACCOUNT.dn}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${SERVICE_ACCOUNT.password}\n`);
      await h.click(posted[1]!, button(alert, 'sync.start'));
      const after = h.api.messages(alerts.id);
      expect(after).toHaveLength(3);
      expect(h.shown(after[2]!).text).toMatch(/^Run #3 of corp succeeded/);
      const resolved = h.shown(posted[1]!);
      expect(resolved.updates).toBe(1);
      expect(resolved.text).toMatch(/^✅ Resolved: Sync failed — corp/);
      expect(resolved.text).toMatch(/Run #3 succeeded/);
      expect(resolved.buttons.map((b) => b.label)).toEqual(['Show run']);
    } finally {
      await own.stop();
    }
  });
});

describe.each(['pglite', 'postgres'] as Driver[])('Slack buttons on %s', (driver) => {
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

  it('maps a conflict once, updating the message in place; a second click says who resolved it and when; a viewer is refused privately', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    await h.command('sync corp');
    const list = await h.command('conflicts corp');
    expect(list.text).toMatch(/jdoe\)\* · conflict/);
    const mapTo2 = button(list, 'conflict.map', /jdoe2/);
    // A viewer's click: an ephemeral refusal for the viewer alone; the message is not touched.
    const refused = await h.click(list, mapTo2, VIEWER);
    expect(refused.filter((c) => c.method === 'chat.update')).toEqual([]);
    const ephemeral = refused.find((c) => c.method === 'response_url')!;
    expect(ephemeral.params).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(unescapeMrkdwn(blockTexts(ephemeral.params.blocks).join('\n'))).toMatch(/Mapping a user changes the directory sync, so it is for groupsync admins only; Slack user victor \(UVIEW01\) is a viewer/);
    expect(h.shown(list).updates).toBe(0);
    // An unknown user: refused the same way.
    const stranger = await h.click(list, mapTo2, STRANGER);
    expect(unescapeMrkdwn(blockTexts(stranger.find((c) => c.method === 'response_url')!.params.blocks).join('\n'))).toMatch(/mallory \(UNOBODY9\) is not configured/);
    expect(h.shown(list).updates).toBe(0);

    const first = await h.click(list, mapTo2);
    expect(first.filter((c) => c.method === 'chat.update').map((c) => c.params.ts)).toEqual([list.ts]);
    const after = h.shown(list);
    expect(after.text).toMatch(new RegExp(`✅ \\*jdoe mapped to local user #\\d+ jdoe2 by ${ACTOR.replace(/[()]/g, '\\$&')}\\*`));
    expect(after.text).not.toMatch(/jdoe\)\* · conflict/);
    // The old message's other button, clicked late: already resolved, by whom and when.
    await h.click(list, button(list, 'conflict.map', /jdoe1/));
    expect(h.shown(list).text).toMatch(/⚠️ \*jdoe was already resolved by slack:alice \(UADMIN1\) at \d{4}-\d\d-\d\dT.*: mapped to local user #\d+\*/);
    const mapping = await rowsOf<{ status: string; resolved_by: string }>(h, `select status, resolved_by from mappings where login = 'jdoe'`);
    expect(mapping).toEqual([{ status: 'mapped', resolved_by: ACTOR }]);
    const audit = await rowsOf<{ actor: string }>(h, `select actor from audit_log where action = 'user.mapped'`);
    expect(audit).toEqual([{ actor: ACTOR }]);
  });

  it('ignores a conflict and links or ignores duplicate groups with buttons, once', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { filter: '(|(cn=developers)(cn=edge-users))' } })], {
      seed: [`insert into local_groups (name, description) values ('Developers', 'made by hand')`, `insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`],
    });
    await h.command('sync corp');
    const conflicts = await h.command('conflicts corp');
    await h.click(conflicts, button(conflicts, 'conflict.ignore'));
    expect(h.shown(conflicts).text).toMatch(/is ignored from now on \(by slack:alice \(UADMIN1\)\)/);

    const list = await h.command('duplicates corp');
    expect(list.text.match(/\*developers\*/g)).toHaveLength(2);
    const links = list.buttons.filter((b) => b.verb === 'duplicate.link');
    const ignores = list.buttons.filter((b) => b.verb === 'duplicate.ignore');
    await h.click(list, links[0]!);
    expect(h.shown(list).text).toMatch(/✅ \*developers is linked to the existing local group by slack:alice \(UADMIN1\)/);
    await h.click(list, links[0]!);
    expect(h.shown(list).text).toMatch(/⚠️ \*duplicate #\d+ \(developers\) was already linked by slack:alice \(UADMIN1\) at /);
    await h.click(list, ignores[1]!);
    expect(h.shown(list).text).toMatch(/0 pending duplicates\./);
    expect(h.shown(list).updates).toBe(3);
  });

  it('holds a large deletion for approval: Approve on the sync message applies it; a held run can be rejected by command', async () => {
    const local = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    try {
      h = await harness(driver, [ldapConnection(local, { groups: { filter: '(cn=cycle-*)' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } })]);
      await h.command('subscribe');
      await h.command('sync corp');
      // Deleted with its member value in cycle-a (as referential integrity does): no dangling member.
      await local.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
      const held = await h.command('sync corp');
      expect(held.text).toMatch(/^Approval needed: run #2 of corp/);
      expect(held.text).toMatch(/\*Groups to delete\*\n1/);
      expect(held.text).toMatch(/cycle-b/);
      expect(held.buttons.map((b) => b.label)).toEqual(['Approve', 'Reject', 'Show run']);
      const alert = h.api.messages(CHANNEL.id).find((m) => /Sync held for approval/.test(m.text))!;
      expect(alert).toBeTruthy();
      // A viewer may not approve.
      const beforeRefusal = h.shown(held).updates;
      const refusal = await h.click(held, button(held, 'run.approve'), VIEWER);
      expect(refusal.find((c) => c.method === 'response_url')?.params).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(h.shown(held).updates).toBe(beforeRefusal);
      expect(await rowsOf(h, `select 1 from runs where id = 2 and status = 'awaiting_approval'`)).toHaveLength(1);
      await h.click(held, button(held, 'run.approve'));
      const approved = h.shown(held);
      expect(approved.text).toMatch(/^Run #2 of corp succeeded/);
      expect(approved.text).toMatch(/Approved by slack:alice \(UADMIN1\); the held plan was applied/);
      expect(h.shown(alert).text).toMatch(/^✅ Resolved: Sync held for approval — corp/);
      expect(h.shown(alert).text).toMatch(/Approved by slack:alice \(UADMIN1\)/);
      // Clicked again (Reject on the old buttons): decided already, by whom.
      await h.click(held, button(held, 'run.reject'));
      expect(h.shown(held).text).toMatch(/run #2 is not awaiting approval: it is success by slack:alice \(UADMIN1\)/);
      expect(await rowsOf(h, `select 1 from local_groups where name = 'cycle-b'`)).toEqual([]);

      await local.load(`dn: ${group('cycle-a')}\nchangetype: delete\n`);
      const again = await h.command('sync corp');
      expect(again.text).toMatch(/^Approval needed: run #3 of corp/);
      expect((await h.command('approve 3', { user: VIEWER })).text).toMatch(/for groupsync admins only/);
      const rejected = await h.command('reject 3');
      expect(rejected.text).toMatch(/Rejected by slack:alice \(UADMIN1\); nothing was applied/);
      expect(await rowsOf(h, `select 1 from local_groups where name = 'cycle-a'`)).toHaveLength(1);
      expect((await h.command('approve 3')).text).toMatch(/run #3 is not awaiting approval: it is rejected by slack:alice \(UADMIN1\)/);
    } finally {
      await local.stop();
    }
  });
});
