/**
 * The Slack surface end to end: signed slash commands, block_actions and Events API requests
 * POSTed to the real bolt app at /slack/events on the service's HTTP server; the bot's Web API
 * calls and response_url posts go to a loopback Slack. The directory is a real slapd, the store
 * PostgreSQL.
 */
import { request as httpRequest } from 'node:http';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { queryRows } from '../../src/store/db.ts';
import { acquireLock } from '../../src/store/runs.ts';
import { DRIVERS, type Driver, ldapConnection } from '../support/app.ts';
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
  blockSuggestion,
  selectAction,
  directMessage,
  postSlack,
  sign,
  slashCommand,
  urlVerification,
} from '../support/slack.ts';
import { type ApiCall, type BlockButton, SlackApi, blockButtons, blockPicks, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
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
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
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

  it('refuses a correctly signed request dated more than five minutes in the future or the past (command, event, button) with 401 and does nothing', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const before = h.api.calls.length;
    const now = Math.floor(Date.now() / 1000);
    const requests = [
      slashCommand('subscribe', { responseUrl: h.api.responseUrl('future') }),
      directMessage('subscribe'),
      blockAction({ actionId: 'sync.start:0', value: JSON.stringify({ connection: 'corp' }) }, { messageTs: '1700000001.000001', responseUrl: h.api.responseUrl('future-click') }),
    ];
    for (const request of requests) {
      // 6 minutes, an hour and a day ahead, and as old: each correctly signed for its timestamp.
      for (const offset of [360, 3600, 86_400, -360, -3600, -86_400]) {
        const r = await postSlack(h.service.eventsUrl, request, { timestampSeconds: now + offset });
        expect(r.status, `${offset} s`).toBe(401);
      }
    }
    // Within five minutes either way it is accepted (clocks differ a little).
    const slightlyAhead = await postSlack(h.service.eventsUrl, slashCommand('health', { responseUrl: h.api.responseUrl('ahead') }), { timestampSeconds: now + 120 });
    expect(slightlyAhead.status).toBe(200);
    await h.service.slack.idle();
    expect(h.api.calls.slice(before).map((c) => c.method)).toEqual(['chat.postMessage']);
    expect(await rowsOf(h, 'select * from conversations')).toEqual([]);
    expect(await rowsOf(h, 'select * from runs')).toEqual([]);
    expect(await rowsOf(h, 'select * from audit_log')).toEqual([]);
  });

  it('acts once per signed request: a replayed command or click, or Slack retrying one, answers 200 and does nothing again', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const ts = Math.floor(Date.now() / 1000);
    const command = slashCommand('sync corp', { responseUrl: h.api.responseUrl('replayed') });
    expect((await postSlack(h.service.eventsUrl, command, { timestampSeconds: ts })).status).toBe(200);
    await h.service.slack.idle();
    const msg = { channel: CHANNEL.id, ts: h.api.messages(CHANNEL.id)[0]!.ts };
    expect(h.shown(msg).text).toMatch(/^Run #1 of corp succeeded/);
    const calls = h.api.calls.length;
    const replay = await postSlack(h.service.eventsUrl, command, { timestampSeconds: ts });
    expect(replay.status).toBe(200);
    expect(replay.body).toBe('');
    // Slack's own retry of a request it thinks was lost carries the same signature.
    expect((await postSlack(h.service.eventsUrl, command, { timestampSeconds: ts, retryNum: 1 })).status).toBe(200);
    await h.service.slack.idle();
    expect(h.api.calls.length).toBe(calls);
    expect(await rowsOf(h, 'select id from runs')).toEqual([{ id: 1 }]);
    // A click replayed: the card is updated once, one sync runs.
    const click = blockAction({ actionId: 'sync.start:0', value: JSON.stringify({ connection: 'corp' }), label: 'Sync now' }, { channel: msg.channel, messageTs: msg.ts, responseUrl: h.api.responseUrl('click') });
    for (let i = 0; i < 3; i++) expect((await postSlack(h.service.eventsUrl, click, { timestampSeconds: ts })).status).toBe(200);
    await h.service.slack.idle();
    expect(await rowsOf(h, 'select id from runs order by id')).toEqual([{ id: 1 }, { id: 2 }]);
    // Copies of one signed request arriving at once: one of them acts.
    const audited = slashCommand('status corp', { responseUrl: h.api.responseUrl('at-once') });
    const before = h.api.calls.length;
    const answers = await Promise.all(Array.from({ length: 5 }, () => postSlack(h!.service.eventsUrl, audited, { timestampSeconds: ts })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await h.service.slack.idle();
    expect(h.api.calls.slice(before).map((c) => c.method)).toEqual(['chat.postMessage']);
    // The request is remembered in the store, so another process refuses it too.
    const [seen] = await rowsOf<{ n: number }>(h, 'select count(*)::int as n from chat_requests');
    expect(seen!.n).toBeGreaterThanOrEqual(2);
  });

  it('answers 413 to a body over 1 MB before reading all of it, and 401 to an unsigned small one', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const url = new URL(h.service.eventsUrl);
    const total = 64 * 1024 * 1024;
    const big = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': total, 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-slack-signature': `v0=${'0'.repeat(64)}` } });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      let status = 0;
      const pump = () => {
        while (sent < total && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (sent >= total) req.end();
      };
      req.on('response', (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        res.on('end', () => {
          req.destroy();
          resolve({ status, sent });
        });
      });
      req.on('error', (error) => (status ? resolve({ status, sent }) : reject(error)));
      pump();
    });
    expect(big.status).toBe(413);
    expect(big.sent).toBeLessThan(total);
    // The same without a length (chunked): cut off at the limit.
    const chunked = await fetch(h.service.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-slack-signature': `v0=${'0'.repeat(64)}` },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit).catch(() => null);
    if (chunked) expect(chunked.status).toBe(413);
    expect((await postSlack(h.service.eventsUrl, slashCommand('health', { responseUrl: 'x' }), { signature: `v0=${'0'.repeat(64)}` })).status).toBe(401);
    expect(h.api.ok('chat.postMessage')).toEqual([]);
  });

  it('answers the slash command at once and posts help, health, status, runs and run in the channel', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const sent = await postSlack(h.service.eventsUrl, slashCommand('help', { responseUrl: h.api.responseUrl('help') }));
    expect(sent.status).toBe(200);
    expect(sent.ms).toBeLessThan(3000);
    await h.service.slack.idle();
    const help = h.shown({ channel: CHANNEL.id, ts: h.api.messages(CHANNEL.id)[0]!.ts });
    expect(help.text).toMatch(/^groupsync commands/);
    for (const usage of ['status CONNECTION', 'sync CONNECTION [GROUP…] [--kind group|security] [--dry-run] [--full]', 'approve RUN-ID', 'unsubscribe']) expect(help.text).toContain(usage);
    expect(help.text).toContain('/groupsync COMMAND');
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
    // Status on a shared health message answers in a message of its own; the health message stays as it was.
    const calls = await h.click(health, button(health, 'status.show'));
    expect(h.shown(health).updates).toBe(0);
    const opened = calls.find((c) => c.method === 'chat.postMessage' && c.status === 200 && c.response.ok)!;
    expect(h.shown({ channel: String(opened.response.channel), ts: String(opened.response.ts) }).text).toMatch(/^🔴 corp|^🟢 corp/);
    const status = await h.command('status corp');
    expect(status.text).toMatch(/Synced users\*\n2/);
    expect(status.text).toMatch(/\*Last 10 attempts\*\n✅ #1 (just now|\d+ s ago)/);
    const runs = await h.command('runs corp');
    expect(runs.text).toMatch(/\*#1\* applied\nchat by alice ·/);
    const run = await h.command('run 1');
    expect(run.text).toMatch(/^Run #1 of corp succeeded/);
    expect(run.text).toMatch(/\*Audit\*\n.*alice created group /);
  });

  it('acknowledges a sync at once, then updates the same message with progress and the result counters', async () => {
    h = await harness('postgres', [ldapConnection(ldap)]);
    const r = await h.send(slashCommand('sync corp', { responseUrl: h.api.responseUrl('sync') }));
    const posted = r.calls.find((c) => c.method === 'chat.postMessage')!;
    expect(blockTexts(posted.params.blocks).join('\n')).toMatch(re(`Sync of corp requested by ${ACTOR}: starting…`));
    const ts = h.api.messages(CHANNEL.id)[0]!.ts;
    const updates = r.calls.filter((c) => c.method === 'chat.update' && c.status === 200);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.every((u) => u.params.ts === ts && u.params.channel === CHANNEL.id)).toBe(true);
    const final = h.shown({ channel: CHANNEL.id, ts });
    expect(final.text).toMatch(/^Run #1 of corp applied, with 2 skipped entries/); // dave (no mail), a dangling member value
    // Outcome first (the skipped count), then the counters in the past tense, one field per kind.
    expect(final.text).toMatch(/\*Status\*\napplied, with 2 skipped entries\n\*Skipped\*\n2 skipped entries \(Show details lists them\)\n\*Changes\*\n\*Groups\*\n\d+ created · 0 modified/);
    expect(final.buttons.map((b) => b.label)).toEqual(['Sync again', 'Show details']);
    expect(h.api.messages(CHANNEL.id)).toHaveLength(1);
  });

  it('answers an app mention in its channel and a direct message in the DM, once per event', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
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
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const viewer = await h.command('map jdoe #1', { user: VIEWER });
    expect(viewer.text).toMatch(/^🔴 Not allowed/);
    expect(viewer.text).toMatch(/"map" changes the directory sync, so it is for groupsync admins only; Slack user victor \(UVIEW01\) is a viewer/);
    expect((await h.command('health', { user: VIEWER })).text).toMatch(/^Sync health/);
    const stranger = await h.command('health', { user: STRANGER });
    expect(stranger.text).toMatch(/Slack user mallory \(UNOBODY9\) may not use groupsync/);
    const typo = await h.command('stauts corp');
    expect(typo.text).toMatch(/"stauts" is not a command; did you mean "status"\?/);
    expect(typo.text).toMatch(/\*Usage\*\nstatus CONNECTION/);
    expect(await rowsOf(h, 'select * from audit_log')).toEqual([]);
  });

  it('maps, ignores, unignores, links, unlinks and (un)subscribes by command, audited with the Slack user as actor', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
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
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    await h.command('sync corp');
    await h.service.app.store.db.execute(sql.raw(`insert into runs (connection, trigger, actor, status) select 'corp', 'manual', 'test', 'success' from generate_series(1, 13)`));
    const runs = await h.command('runs corp');
    expect(runs.text).toMatch(/1–10 of 14/);
    await h.click(runs, button(runs, 'page', /Next/));
    const next = h.shown(runs);
    expect(next.updates).toBe(1);
    expect(next.text).toMatch(/11–14 of 14/);
    expect(next.text).toMatch(/\*#1\* applied/);
    expect(next.buttons.map((b) => b.label)).toEqual(['#4', '#3', '#2', '#1', '◀ Previous']);
  });

  it("checks a button's values against the card's own object: another connection's duplicate, a run never held, a page past the end", async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } }), ldapConnection(ldap, { name: 'hr', groups: { filter: '(cn=developers)' } })], {
      seed: [`insert into local_groups (name, description) values ('Developers', 'made by hand')`],
    });
    await h.command('sync corp');
    await h.command('sync hr');
    const [dup] = await rowsOf<{ id: number; connection: string }>(h, `select id, connection from duplicates order by id`);
    expect(await rowsOf(h, `select distinct connection from duplicates`)).toEqual([{ connection: 'hr' }]);
    // corp's duplicates card, with a button naming hr's duplicate: refused to the clicker, nothing changed.
    const corpDuplicates = await h.command('duplicates corp');
    const forged = { actionId: 'duplicate.link:0', label: 'Link to existing', value: JSON.stringify({ connection: 'corp', id: dup!.id, offset: 0 }) };
    const refused = await h.click(corpDuplicates, { ...forged, verb: 'duplicate.link', data: {}, style: null });
    const answer = refused.find((c) => c.method === 'response_url')!;
    expect(answer.params).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(unescapeMrkdwn(blockTexts(answer.params.blocks).join('\n'))).toMatch(new RegExp(`duplicate #${dup!.id} is not a duplicate of corp`));
    expect(h.shown(corpDuplicates).updates).toBe(0);
    expect(await rowsOf(h, `select distinct status from duplicates`)).toEqual([{ status: 'pending' }]);
    // Approve naming run #1, which was never held: no approval card, nothing done.
    const runs = await h.command('runs corp');
    const approve = await h.click(runs, { actionId: 'run.approve:0', label: 'Approve', value: JSON.stringify({ run: 1 }), verb: 'run.approve', data: {}, style: null });
    const notHeld = unescapeMrkdwn(blockTexts(approve.find((c) => c.method === 'response_url')!.params.blocks).join('\n'));
    expect(notHeld).toMatch(/run #1 of corp was never held for approval \(it is success\); nothing was done/);
    expect(notHeld).not.toMatch(/Approval needed/);
    expect(h.shown(runs).updates).toBe(0);
    expect((await h.command('approve 1')).text).toMatch(/was never held for approval/);
    // A page offset far past the end shows the last page.
    await h.service.app.store.db.execute(sql.raw(`insert into runs (connection, trigger, actor, status) select 'corp', 'manual', 'test', 'success' from generate_series(1, 13)`));
    const far = { actionId: 'page:0', label: 'Next ▶', verb: 'page', data: {}, style: null };
    await h.click(runs, { ...far, value: JSON.stringify({ view: 'runs', connection: 'corp', offset: 10_000_000 }) });
    expect(h.shown(runs).text).toMatch(/11–14 of 14/);
    const health = await h.command('health');
    await h.click(health, { ...far, value: JSON.stringify({ view: 'health', offset: 10_000_000 }) });
    expect(h.shown(health).text).toMatch(/app-ops\* · green/);
    await h.click(corpDuplicates, { ...far, value: JSON.stringify({ view: 'duplicates', connection: 'hr', offset: 10_000_000 }) });
    expect(h.shown(corpDuplicates).text).toMatch(/\*developers\*/);
  });

  it('retries a Web API call Slack throttles (429) no sooner than its Retry-After', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    h.api.throttleNext('chat.postMessage', 1, 1);
    const r = await h.send(slashCommand('health', { responseUrl: h.api.responseUrl('throttled') }));
    expect(r.status).toBe(200);
    const posts = r.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts.map((c) => c.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(h.api.messages(CHANNEL.id)).toHaveLength(1);
  });

  it('retries a response_url post Slack throttles (429) no sooner than its Retry-After: a refusal still reaches the clicker', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const health = await h.command('health');
    h.api.throttleNext('response_url', 1, 1);
    const calls = await h.click(health, button(health, 'sync.start'), VIEWER);
    const answers = calls.filter((c) => c.method === 'response_url');
    expect(answers.map((c) => c.status)).toEqual([429, 200]);
    expect(answers[1]!.at - answers[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(answers[1]!.params).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(unescapeMrkdwn(blockTexts(answers[1]!.params.blocks).join('\n'))).toMatch(/for groupsync admins only/);
  });

  it('starts a sync even when its first "starting…" message cannot be posted, and posts the result as a new message', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    h.api.failNext('chat.postMessage', 1, 'fatal_error');
    const r = await h.send(slashCommand('sync corp', { responseUrl: h.api.responseUrl('lost-ack') }));
    expect(r.status).toBe(200);
    expect(r.calls.filter((c) => c.method === 'chat.postMessage').map((c) => c.response.ok)).toEqual([false, true]);
    expect(await rowsOf(h, 'select id, status from runs')).toEqual([{ id: 1, status: 'success' }]);
    const [result] = h.api.messages(CHANNEL.id);
    expect(h.shown(result!).text).toMatch(/^Run #1 of corp succeeded/);
  });

  it('starts a sync from a "Sync now" button even when its "starting…" message cannot be posted, and posts the result as a new message', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const health = await h.command('health');
    h.api.failNext('chat.postMessage', 1, 'fatal_error');
    const calls = await h.click(health, button(health, 'sync.start'));
    expect(calls.filter((c) => c.method === 'chat.postMessage').map((c) => c.response.ok)).toEqual([false, true]);
    expect(await rowsOf(h, 'select id, status, trigger from runs')).toEqual([{ id: 1, status: 'success', trigger: 'chat' }]);
    const posted = calls.filter((c) => c.method === 'chat.postMessage' && c.response.ok).map((c) => String(c.response.ts));
    expect(h.shown({ channel: CHANNEL.id, ts: posted[0]! }).text).toMatch(/^Run #1 of corp succeeded/);
    expect(h.shown(health).updates).toBe(0);
  });

  it('dry runs are for admins and take no run lock: a dry run goes ahead while a sync holds the connection', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
    const viewer = await h.command('sync corp --dry-run', { user: VIEWER });
    expect(viewer.text).toMatch(/"sync" changes the directory sync, so it is for groupsync admins only/);
    expect(await rowsOf(h, 'select id from runs')).toEqual([]);
    // Another process holds the run lock of corp.
    await acquireLock(h.service.app.store.db, 'corp', 'another-process', 600_000, new Date());
    const dry = await h.command('sync corp --dry-run');
    // A dry run says "would" and lists what would change.
    expect(h.shown(dry).text).toMatch(/^Dry run #1 of corp: nothing was applied\n\*Status\*\ndry run: nothing applied\n/);
    expect(h.shown(dry).text).toMatch(/\*Would change \(nothing applied\)\*\n\*Groups\*\n\d+ to create/);
    expect(h.shown(dry).text).toMatch(/\*What would change\*\n(.*\n)*\+ create group app-ops \[group\]/);
    const real = await h.command('sync corp');
    expect(h.shown(real).text).toMatch(/already running since/);
    const [lock] = await rowsOf<{ lock_holder: string }>(h, `select lock_holder from connections where name = 'corp'`);
    expect(lock!.lock_holder).toBe('another-process');
  });

  it('a Slack app that cannot start (token refused) leaves the rest of the service running', async () => {
    const api = await new SlackApi().start();
    try {
      const slack: SlackConfig = { botToken: 'xoxp-not-a-bot-token', mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
      const service = await startSlackService('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })], { slack, chat: CHAT });
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
    h = await harness('postgres', [ldapConnection(ldap, { groups: { list: ['app-ops'] } })]);
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
      h = await harness('postgres', [ldapConnection(own, { bindDn: SERVICE_ACCOUNT.dn, groups: { list: ['app-ops'] } })], { env: { TEST_LDAP_PASSWORD: SERVICE_ACCOUNT.password } });
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

describe.each(DRIVERS)('Slack buttons on %s', (driver) => {
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
    expect(h.shown(list).text).toMatch(/⚠️ \*jdoe was already resolved by slack:alice \(UADMIN1\) (?:\(.+ ago|\(just now), \d\d:\d\d UTC\): mapped to local user #\d+\*/);
    const mapping = await rowsOf<{ status: string; resolved_by: string }>(h, `select status, resolved_by from mappings where login = 'jdoe'`);
    expect(mapping).toEqual([{ status: 'mapped', resolved_by: ACTOR }]);
    const audit = await rowsOf<{ actor: string }>(h, `select actor from audit_log where action = 'user.mapped'`);
    expect(audit).toEqual([{ actor: ACTOR }]);
  });

  it('shows each candidate with mail, status and last activity, and maps to any local user found by an external_select search (admins only, once, audited)', async () => {
    h = await harness(driver, [ldapConnection(ldap, { groups: { list: ['edge-users'] } })], {
      seed: [`insert into local_users (login, mail, display_name, active) values ('jdoe1', 'shared@example.org', 'Jo Doe One', true), ('jdoe2', 'SHARED@example.org', null, false), ('zoe', 'zoe.other@example.org', 'Zoë Other', true)`],
    });
    await h.command('sync corp');
    const list = await h.command('conflicts corp');
    const [zoe] = await rowsOf<{ id: number }>(h, `select id from local_users where login = 'zoe'`);
    expect(list.text).toMatch(/• \*Jo Doe One\* · #\d+ · jdoe1 · shared@example.org · active · last activity (?:(?:.+ ago|just now), )?(?:\d{4}-\d\d-\d\d )?\d\d:\d\d UTC/);
    expect(list.text).toMatch(/• \*jdoe2\* · #\d+ · SHARED@example.org · inactive · last activity /);
    const [jdoe] = await rowsOf<{ directory_id: string }>(h, `select directory_id from mappings where login = 'jdoe'`);
    expect(blockPicks(list.blocks)).toContainEqual({ dataset: 'localUsers', verb: 'conflict.map', data: { connection: 'corp', user: jdoe!.directory_id, offset: 0 }, field: 'local' });
    const block = (list.blocks as Array<{ type: string; block_id?: string; elements?: Array<{ type: string; action_id: string }> }>).find(
      (b) => b.elements?.[0]?.type === 'external_select' && b.block_id!.includes(jdoe!.directory_id),
    )!;
    const select = { actionId: block.elements![0]!.action_id, blockId: block.block_id! };
    // Typing into the select: Slack asks the request URL for options and shows what it answers.
    const suggest = async (value: string, user = ADMIN) => {
      const r = await h!.send(blockSuggestion({ ...select, value }, { user, messageTs: list.ts }));
      expect(r.status).toBe(200);
      return JSON.parse(r.body) as { options: Array<{ text: { text: string }; value: string }> };
    };
    expect(await suggest('zoe')).toEqual({ options: [{ text: { type: 'plain_text', text: `#${zoe!.id} Zoë Other (zoe) · zoe.other@example.org` }, value: String(zoe!.id) }] });
    expect((await suggest('zoe', VIEWER)).options).toEqual([]);
    const choose = (user = ADMIN) => h!.send(selectAction({ ...select, value: String(zoe!.id), text: 'Zoë Other' }, { user, messageTs: list.ts, responseUrl: h!.api.responseUrl(`sel-${++responses}`) }));
    const refused = await choose(VIEWER);
    expect(unescapeMrkdwn(blockTexts(refused.calls.find((c) => c.method === 'response_url')!.params.blocks).join('\n'))).toMatch(/for groupsync admins only/);
    await choose();
    expect(h.shown(list).text).toMatch(new RegExp(`✅ \\*jdoe mapped to local user #${zoe!.id} zoe by `));
    await choose();
    expect(h.shown(list).text).toMatch(/⚠️ \*jdoe was already resolved by slack:alice/);
    const audit = await rowsOf<{ actor: string; after: unknown }>(h, `select actor, after from audit_log where action = 'user.mapped'`);
    expect(audit).toEqual([{ actor: ACTOR, after: { status: 'mapped', localUserId: zoe!.id } }]);
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
    expect(h.shown(list).text).toMatch(/⚠️ \*duplicate #\d+ \(developers\) was already linked by slack:alice \(UADMIN1\) (?:\(.+ ago|\(just now), \d\d:\d\d UTC\)/);
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
      // While it waits, another sync plans nothing: it names the held run and leads to it.
      const refused = await h.command('sync corp');
      expect(refused.text).toMatch(/^⚠️ Awaiting approval\n/);
      expect(refused.text).toMatch(/run #2 of "corp" awaits approval since .* UTC: approve or reject it first/);
      expect(refused.buttons.map((b) => b.label)).toEqual(['Show run #2', 'Status']);
      expect(await rowsOf(h, `select 1 from runs`)).toHaveLength(2);
      // A viewer may not approve.
      const beforeRefusal = h.shown(held).updates;
      const refusal = await h.click(held, button(held, 'run.approve'), VIEWER);
      expect(refusal.find((c) => c.method === 'response_url')?.params).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(h.shown(held).updates).toBe(beforeRefusal);
      expect(await rowsOf(h, `select 1 from runs where id = 2 and status = 'awaiting_approval'`)).toHaveLength(1);
      await h.click(held, button(held, 'run.approve'));
      const approved = h.shown(held);
      expect(approved.text).toMatch(/^Run #2 of corp succeeded/);
      expect(approved.text).toMatch(/Approved by alice; the held plan was applied/);
      expect(h.shown(alert).text).toMatch(/^✅ Resolved: Sync held for approval — corp/);
      expect(h.shown(alert).text).toMatch(/Approved by alice/);
      // Clicked again (Reject on the old buttons): decided already, by whom.
      await h.click(held, button(held, 'run.reject'));
      expect(h.shown(held).text).toMatch(/run #2 is not awaiting approval: it is success by slack:alice \(UADMIN1\)/);
      expect(await rowsOf(h, `select 1 from local_groups where name = 'cycle-b'`)).toEqual([]);

      await local.load(`dn: ${group('cycle-a')}\nchangetype: delete\n`);
      const again = await h.command('sync corp');
      expect(again.text).toMatch(/^Approval needed: run #3 of corp/);
      expect((await h.command('approve 3', { user: VIEWER })).text).toMatch(/for groupsync admins only/);
      const rejected = await h.command('reject 3');
      expect(rejected.text).toMatch(/^Rejected: run #3 of corp\n.*Rejected by alice; nothing was applied/);
      expect(await rowsOf(h, `select 1 from local_groups where name = 'cycle-a'`)).toHaveLength(1);
      expect((await h.command('approve 3')).text).toMatch(/run #3 is not awaiting approval: it is rejected by slack:alice \(UADMIN1\)/);
    } finally {
      await local.stop();
    }
  });
});

describe('Slack read commands', () => {
  let ldap: SlapdHandle;
  let h: Harness | null = null;

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterAll(async () => {
    await h?.close();
    await ldap?.stop();
  });

  it('users, audit and why answer a viewer over the Slack wire: statuses, sentences with names, the nesting path', async () => {
    h = await harness('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=app-admins)(cn=all-staff))' } })]);
    await h.command('sync corp');
    await h.command('ignore dave');
    const users = await h.command('users corp --status ignored', { user: VIEWER });
    expect(users.text).toMatch(/\*dave\* · ignored/);
    expect(users.text).not.toContain('alice');
    const found = await h.command('users corp BOB', { user: VIEWER });
    expect(found.text).toMatch(/\*bob\* · mapped → local user #\d+ bob/);
    const audit = await h.command('audit corp --user dave', { user: VIEWER });
    expect(audit.text).toContain(`${ADMIN.name} ignored directory user dave`);
    const why = await h.command('why bob app-admins', { user: VIEWER });
    expect(why.text).toContain('bob is a member of app-admins');
    expect(why.text).toContain('app-admins → app-ops → bob');
    expect(button(why, 'run.show').data).toMatchObject({ run: expect.any(Number) });
  });
});
