/**
 * Alerts at scale, end to end: the whole service with Teams (loopback Bot Connector) and Slack
 * (loopback Web API) subscribed, a real slapd, and a run that turns many linked groups red at
 * once. One alert per connection and cause per conversation, updated in place, never a flood.
 */
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { queryRows } from '../../src/store/db.ts';
import { DRIVERS, type Driver, createTestApp, ldapConnection } from '../support/app.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { ADMIN, BOT_TOKEN, SIGNING_SECRET, postSlack, slashCommand } from '../support/slack.ts';
import { SlackApi, blockButtons, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { TEST_RETRY } from '../support/slack-service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ALICE, actionInvoke, cardActions, cardTexts, channelMention, postActivity } from '../support/teams.ts';

const CHAT = { admins: { teams: [ALICE.aadObjectId], slack: [ADMIN.id] } };
const TEAMS_CHANNEL = '19:flood@thread.tacv2';
const SLACK_CHANNEL = { id: 'C0FLOOD01', name: 'flood-alerts' };
const LINKS = 60;
const name = (i: number) => `flood-${String(i).padStart(3, '0')}`;

/** LINKS groups, each with jdoe (whose mail two local users share: a conflict) and alice. */
function floodLdif(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `dn: cn=${name(i)},ou=groups,dc=example,dc=org\nobjectClass: groupOfNames\ncn: ${name(i)}\nmember: uid=jdoe,ou=people,dc=example,dc=org\nmember: uid=alice,ou=people,dc=example,dc=org\n`,
  ).join('\n');
}

interface Harness {
  readonly service: TestService;
  readonly connector: BotConnector;
  readonly api: SlackApi;
  close(): Promise<void>;
}

async function harness(driver: Driver, connections: Array<Record<string, unknown>>): Promise<Harness> {
  const connector = await new BotConnector().start();
  const api = await new SlackApi().start();
  api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
  const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
  const service = await startTestService(driver, connections, { chat: CHAT, slack, slackRetry: TEST_RETRY });
  await service.app.store.db.execute(sql`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`);
  // Subscribe one Teams channel and one Slack channel.
  const before = connector.calls.length;
  expect((await postActivity(service.url, channelMention(connector.url, 'subscribe', ALICE, TEAMS_CHANNEL))).status).toBe(200);
  await connector.waitFor((calls) => calls.slice(before).find((c) => c.kind === 'reply' && c.status === 201));
  expect((await postSlack(`${service.url}/slack/events`, slashCommand('subscribe', { channel: SLACK_CHANNEL, responseUrl: api.responseUrl('subscribe') }))).status).toBe(200);
  await service.slack!.idle();
  return {
    service,
    connector,
    api,
    async close() {
      await service.close();
      await api.stop();
      await connector.stop();
    },
  };
}

/** Cards posted to the Teams channel (new messages) whose first line matches. */
const teamsPosts = (h: Harness, first: RegExp) => h.connector.cards((c) => BotConnector.isPost(c) && c.conversationId === TEAMS_CHANNEL && first.test(cardTexts(c.body)[0] ?? ''));
/** Alert cards posted to the Teams channel. */
const teamsAlerts = (h: Harness) => teamsPosts(h, /^(⚠️|✅)/);
/** Updates of one Teams activity. */
const teamsUpdates = (h: Harness, activityId: string) => h.connector.cards((c) => c.kind === 'update' && c.activityId === activityId);
/** Alert messages posted to the Slack channel. */
const slackAlerts = (h: Harness) => h.api.messages(SLACK_CHANNEL.id).filter((m) => /^(⚠️|✅) .* — corp\n/.test(unescapeMrkdwn(blockTexts(m.blocks).join('\n'))));
const slackText = (blocks: unknown) => unescapeMrkdwn(blockTexts(blocks).join('\n'));
/** Messages posted to the Slack channel whose text matches. */
const slackPosts = (h: Harness, match: RegExp) => h.api.messages(SLACK_CHANNEL.id).filter((m) => match.test(slackText(m.blocks)));

describe.each(DRIVERS)('alerts on %s', (driver) => {
  let ldap: SlapdHandle | null = null;
  let h: Harness | null = null;

  afterEach(async () => {
    await h?.close();
    await ldap?.stop();
    h = null;
    ldap = null;
  });

  it(`a run that turns ${LINKS} linked groups red posts one alert per conversation, lists them paged, updates it in place and resolves it with one update`, async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios, floodLdif(LINKS)] });
    h = await harness(driver, [ldapConnection(ldap, { groups: { filter: '(cn=flood-*)' } })]);
    const run = await h.service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(run.run.status).toBe('success');
    const red = (await h.service.app.ops.health()).flatMap((c) => c.links).filter((l) => l.status === 'red');
    expect(red).toHaveLength(LINKS);

    // One alert per conversation, not one per link.
    const teams = teamsAlerts(h);
    expect(teams).toHaveLength(1);
    const slack = slackAlerts(h);
    expect(slack).toHaveLength(1);
    const open = await queryRows<{ cause: string; link_id: number | null }>(h.service.app.store.db, sql`select cause, link_id from incidents where status = 'open'`);
    expect(open).toEqual([{ cause: 'link_red', link_id: null }]);

    // The card lists the first 10 links and says how many more, with a way to see them all.
    const card = cardTexts(teams[0]!.card).join('\n');
    expect(card).toContain(`⚠️ ${LINKS} linked groups need attention — corp`);
    for (let i = 0; i < 10; i++) expect(card).toContain(`${name(i)}: 1 user conflict pending`);
    expect(card).not.toContain(name(10));
    expect(card).toContain(`…and ${LINKS - 10} more: type "health" to see them all`);
    expect(cardActions(teams[0]!.card).map((a) => a.title)).toEqual(['Conflicts', 'Duplicates', 'Health', 'Status']);
    const slackCard = slackText(slack[0]!.blocks);
    for (let i = 0; i < 10; i++) expect(slackCard).toContain(`${name(i)}: 1 user conflict pending`);
    expect(slackCard).not.toContain(name(10));
    expect(slackCard).toContain(`…and ${LINKS - 10} more: type "health" to see them all`);
    expect(blockButtons(slack[0]!.blocks).map((b) => b.label)).toEqual(['Conflicts', 'Duplicates', 'Health', 'Status']);
    // Its Health button pages through every link, red first, in a message of its own (the alert stays).
    const healthButton = cardActions(teams[0]!.card).find((a) => a.title === 'Health')!;
    const beforeClick = h.connector.calls.length;
    expect((await postActivity(h.service.url, actionInvoke(h.connector.url, healthButton.verb, healthButton.data, teams[0]!.activityId!, ALICE, TEAMS_CHANNEL))).status).toBe(200);
    const healthCall = await h.connector.waitFor((calls) => calls.slice(beforeClick).find((c) => BotConnector.isPost(c) && c.status === 201 && cardTexts(c.body)[0] === 'Sync health'));
    const healthCard = h.connector.cards((c) => c === healthCall)[0]!.card;
    const healthText = cardTexts(healthCard).join('\n');
    for (let i = 0; i < 20; i++) expect(healthText).toContain(name(i));
    expect(healthText).not.toContain(name(20));
    expect(healthText).toMatch(new RegExp(`1–20 of ${LINKS}`));
    expect(cardActions(healthCard).find((a) => a.title === 'Next ▶')?.data).toMatchObject({ view: 'health', offset: 20 });
    expect(teamsUpdates(h, teams[0]!.activityId!)).toHaveLength(0);

    // A link leaves the incident (jdoe no longer in flood-000): the same message is updated.
    await ldap.load(`dn: cn=${name(0)},ou=groups,dc=example,dc=org\nchangetype: modify\ndelete: member\nmember: uid=jdoe,ou=people,dc=example,dc=org\n`);
    await h.service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(teamsAlerts(h)).toHaveLength(1);
    expect(slackAlerts(h)).toHaveLength(1);
    const updated = teamsUpdates(h, teams[0]!.activityId!);
    expect(updated).toHaveLength(1);
    expect(cardTexts(updated[0]!.card).join('\n')).toContain(`⚠️ ${LINKS - 1} linked groups need attention — corp`);
    expect(cardTexts(updated[0]!.card).join('\n')).not.toContain(name(0));
    const slackNow = h.api.message(SLACK_CHANNEL.id, slack[0]!.ts)!;
    expect(slackNow.updates).toBe(1);
    expect(slackText(slackNow.blocks)).toContain(`${LINKS - 1} linked groups need attention — corp`);
    // A sync that changes nothing does not touch it.
    await h.service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    expect(teamsUpdates(h, teams[0]!.activityId!)).toHaveLength(1);

    // Recovery: the conflict is resolved; every link turns green; one update per conversation.
    const [candidate] = await queryRows<{ id: number }>(h.service.app.store.db, sql`select id from local_users where login = 'jdoe2'`);
    await h.service.app.ops.map('jdoe', `#${candidate!.id}`, 'ann');
    await h.service.app.scheduler.tick(new Date());
    expect(teamsAlerts(h)).toHaveLength(1);
    expect(slackAlerts(h)).toHaveLength(1);
    const resolved = teamsUpdates(h, teams[0]!.activityId!);
    expect(resolved).toHaveLength(2);
    expect(cardTexts(resolved[1]!.card)[0]).toMatch(/^✅ Resolved: .*linked groups need attention — corp$/);
    const slackDone = h.api.message(SLACK_CHANNEL.id, slack[0]!.ts)!;
    expect(slackDone.updates).toBe(2);
    expect(slackText(slackDone.blocks)).toMatch(/^✅ Resolved: /);
    expect(h.connector.calls.filter((c) => c.kind === 'update')).toHaveLength(2);
    expect(h.api.ok('chat.update')).toHaveLength(2);
  });

  it('caps alerts per conversation: 5 alert messages a minute, then one "N more alerts" message updated in place', async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios, floodLdif(7)] });
    const names = Array.from({ length: 7 }, (_, i) => `org${i + 1}`);
    h = await harness(
      driver,
      names.map((n, i) => ldapConnection(ldap!, { name: n, groups: { list: [name(i)] } })),
    );
    // Each connection's one link turns red (jdoe's mail is shared): 7 incidents in a minute.
    for (const n of names) await h.service.app.ops.sync({ connection: n, trigger: 'manual', actor: 'ann' });
    expect((await h.service.app.ops.incidents()).filter((i) => i.cause === 'link_red')).toHaveLength(7);

    const teams = teamsAlerts(h);
    expect(teams.map((c) => cardTexts(c.card)[0])).toEqual(names.slice(0, 5).map((n) => `⚠️ Linked group needs attention — ${n}`));
    const teamsMore = teamsPosts(h, /more alert/);
    expect(teamsMore).toHaveLength(1);
    expect(cardTexts(teamsMore[0]!.card)[0]).toBe('1 more alert not posted here');
    const teamsMoreNow = h.connector.cards((c) => c.kind === 'update' && c.activityId === teamsMore[0]!.activityId);
    expect(teamsMoreNow).toHaveLength(1);
    expect(cardTexts(teamsMoreNow[0]!.card)[0]).toBe('2 more alerts not posted here');
    expect(cardTexts(teamsMoreNow[0]!.card).join('\n')).toContain('Type "health" for every connection and linked group; `groupsync incidents` lists every open alert.');
    expect(cardActions(teamsMoreNow[0]!.card).map((a) => a.title)).toEqual(['Health']);

    expect(slackPosts(h, /^⚠️ Linked group needs attention — org/)).toHaveLength(5);
    const slackMore = slackPosts(h, /more alerts? not posted here/);
    expect(slackMore).toHaveLength(1);
    expect(slackMore[0]!.updates).toBe(1);
    expect(slackText(slackMore[0]!.blocks)).toMatch(/2 more alerts not posted here/);
  });

  it('updates a grouped alert changed by another process (the CLI) at the next scheduler tick, once', async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios, floodLdif(12)] });
    const connection = ldapConnection(ldap, { groups: { filter: '(cn=flood-*)' } });
    h = await harness(driver, [connection]);
    await h.service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'ann' });
    const [teams] = teamsAlerts(h);
    expect(cardTexts(teams!.card)[0]).toBe('⚠️ 12 linked groups need attention — corp');
    // The CLI (same store, no chat surfaces) syncs after flood-000 lost jdoe: 11 links are red.
    const cli = await createTestApp(driver, [connection], { store: h.service.app.store });
    await ldap.load(`dn: cn=${name(0)},ou=groups,dc=example,dc=org\nchangetype: modify\ndelete: member\nmember: uid=jdoe,ou=people,dc=example,dc=org\n`);
    await cli.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'cli:ops' });
    expect(teamsUpdates(h, teams!.activityId!)).toHaveLength(0);
    // The service's next tick updates the card, in place, on both surfaces.
    await h.service.app.scheduler.tick(new Date());
    const updated = teamsUpdates(h, teams!.activityId!);
    expect(updated.map((c) => cardTexts(c.card)[0])).toEqual(['⚠️ 11 linked groups need attention — corp']);
    const [slack] = slackAlerts(h);
    expect(slack!.updates).toBe(1);
    expect(slackText(slack!.blocks)).toMatch(/^⚠️ 11 linked groups need attention — corp/);
    await h.service.app.scheduler.tick(new Date());
    expect(teamsUpdates(h, teams!.activityId!)).toHaveLength(1);
    expect(teamsAlerts(h)).toHaveLength(1);
  });
});
