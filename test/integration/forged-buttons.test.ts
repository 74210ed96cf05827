/**
 * Buttons whose values were changed by the client (issue 10 #10), on Teams and on Slack: a click
 * is checked against the object of the card it came from. A duplicate or conflict button naming
 * another connection's duplicate or user acts on nothing; Approve and Reject naming a run that
 * was never held refuse without an approval card; a page offset far past the end shows the last
 * page of every paged view. The whole service runs (Teams through a loopback Bot Connector,
 * Slack through a loopback Web API), the directory is a real slapd, the store PostgreSQL.
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { queryRows } from '../../src/store/db.ts';
import { ldapConnection } from '../support/app.ts';
import { BotConnector } from '../support/bot-connector.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { ADMIN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, blockAction, postSlack, slashCommand } from '../support/slack.ts';
import { SlackApi, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { TEST_RETRY } from '../support/slack-service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ALICE, actionInvoke, cardTexts, personalMessage, postActivity } from '../support/teams.ts';

const CHAT = { admins: { teams: [ALICE.aadObjectId], slack: [ADMIN.id] } };
const FAR = 10_000_000;

/** One surface as a person uses it: type a command, click a button of a message with any value. */
interface Surface {
  /** Types a command; returns the id of the message the bot answered with. */
  say(text: string): Promise<string>;
  /**
   * Clicks a button on message `id` sending `data`: `refusal` is an answer to the clicker alone
   * (the card stays), `card` the card's text after the click when it was replaced in place.
   */
  click(id: string, verb: string, data: Record<string, unknown>): Promise<{ refusal: string | null; card: string | null }>;
  /** How many times message `id` was changed since it was posted. */
  updates(id: string): number;
}

interface Harness {
  readonly service: TestService;
  readonly surfaces: { readonly teams: Surface; readonly slack: Surface };
  close(): Promise<void>;
}

async function harness(ldap: SlapdHandle): Promise<Harness> {
  const connector = await new BotConnector().start();
  const api = await new SlackApi().start();
  api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
  const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
  const connections = [ldapConnection(ldap, { groups: { list: ['app-ops'] } }), ldapConnection(ldap, { name: 'hr', groups: { filter: '(|(cn=developers)(cn=edge-users))' } })];
  const service = await startTestService('postgres', connections, { chat: CHAT, slack, slackRetry: TEST_RETRY });
  let seq = 0;
  const teams: Surface = {
    async say(text) {
      const before = connector.calls.length;
      expect((await postActivity(service.url, personalMessage(connector.url, text))).status).toBe(200);
      const reply = await connector.waitFor((calls) => calls.slice(before).find((c) => c.kind === 'reply' && c.status === 201));
      return reply.activityId!;
    },
    async click(id, verb, data) {
      const r = await postActivity(service.url, actionInvoke(connector.url, verb, data, id));
      expect(r.status).toBe(200);
      const body = r.body as { type: string; value: unknown };
      if (body.type === 'application/vnd.microsoft.card.adaptive') return { refusal: null, card: cardTexts(body.value).join('\n') };
      return { refusal: String(body.value), card: null };
    },
    updates: (id) => connector.calls.filter((c) => c.kind === 'update' && c.activityId === id).length,
  };
  const slackSurface: Surface = {
    async say(text) {
      const before = api.calls.length;
      expect((await postSlack(`${service.url}/slack/events`, slashCommand(text, { responseUrl: api.responseUrl(`cmd-${++seq}`) }))).status).toBe(200);
      await service.slack!.idle();
      const posted = api.calls.slice(before).find((c) => c.method === 'chat.postMessage' && c.response.ok);
      return String(posted!.response.ts);
    },
    async click(ts, verb, data) {
      const before = api.calls.length;
      const click = blockAction({ actionId: `${verb}:0`, value: JSON.stringify(data), label: verb }, { channel: CHANNEL.id, messageTs: ts, responseUrl: api.responseUrl(`act-${++seq}`) });
      const updatesBefore = api.message(CHANNEL.id, ts)!.updates;
      expect((await postSlack(`${service.url}/slack/events`, click)).status).toBe(200);
      await service.slack!.idle();
      const answer = api.calls.slice(before).find((c) => c.method === 'response_url' && c.params.response_type === 'ephemeral');
      const now = api.message(CHANNEL.id, ts)!;
      return {
        refusal: answer ? unescapeMrkdwn(blockTexts(answer.params.blocks).join('\n')) : null,
        card: now.updates > updatesBefore ? unescapeMrkdwn(blockTexts(now.blocks).join('\n')) : null,
      };
    },
    updates: (ts) => api.message(CHANNEL.id, ts)!.updates,
  };
  return {
    service,
    surfaces: { teams, slack: slackSurface },
    async close() {
      await service.close();
      await api.stop();
      await connector.stop();
    },
  };
}

describe.each(['teams', 'slack'] as const)('buttons with forged values on %s', (surfaceName) => {
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

  const rowsOf = <T,>(text: string): Promise<T[]> => queryRows<T>(h!.service.app.store.db, sql.raw(text));

  it("act only on the card's own object: another connection's duplicate or user, a run never held", async () => {
    h = await harness(ldap);
    const db = h.service.app.store.db;
    await db.execute(sql`insert into local_groups (name, description) values ('Developers', 'made by hand')`);
    await db.execute(sql`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`);
    const corpRun = await h.service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    await h.service.app.ops.sync({ connection: 'hr', trigger: 'manual', actor: 'test' });
    const [dup] = await rowsOf<{ id: number }>(`select id from duplicates where connection = 'hr' and status = 'pending' order by id limit 1`);
    const [jdoe] = await rowsOf<{ directory_id: string }>(`select directory_id from mappings where connection = 'hr' and login = 'jdoe' and status = 'conflict'`);
    const [jdoe2] = await rowsOf<{ id: number }>(`select id from local_users where login = 'jdoe2'`);
    expect(dup && jdoe && jdoe2).toBeTruthy();
    const audit = await rowsOf(`select id from audit_log where actor <> 'test'`);
    const s = h.surfaces[surfaceName];

    // corp's duplicates card, buttons naming hr's duplicate: refused to the clicker, nothing changed.
    const duplicates = await s.say('duplicates corp');
    for (const verb of ['duplicate.link', 'duplicate.separate', 'duplicate.ignore']) {
      const r = await s.click(duplicates, verb, { connection: 'corp', id: dup!.id, offset: 0 });
      expect(r.card).toBeNull();
      expect(r.refusal).toMatch(new RegExp(`duplicate #${dup!.id} is not a duplicate of corp; nothing was changed`));
    }
    expect(s.updates(duplicates)).toBe(0);
    expect(await rowsOf(`select distinct status from duplicates where connection = 'hr'`)).toEqual([{ status: 'pending' }]);

    // corp's conflicts card, buttons naming hr's user in conflict: not found in corp, nothing changed.
    const conflicts = await s.say('conflicts corp');
    for (const [verb, data] of [
      ['conflict.map', { connection: 'corp', user: jdoe!.directory_id, local: jdoe2!.id, offset: 0 }],
      ['conflict.ignore', { connection: 'corp', user: jdoe!.directory_id, offset: 0 }],
    ] as const) {
      const r = await s.click(conflicts, verb, data);
      expect(r.card).toBeNull();
      expect(r.refusal).toMatch(/no directory user ".*" in "corp" has been read yet/);
    }
    expect(s.updates(conflicts)).toBe(0);
    expect(await rowsOf(`select status, resolved_by from mappings where connection = 'hr' and login = 'jdoe'`)).toEqual([{ status: 'conflict', resolved_by: null }]);

    // Approve and Reject naming a run that was never held: no approval card, nothing done.
    const runs = await s.say('runs corp');
    for (const verb of ['run.approve', 'run.reject']) {
      const r = await s.click(runs, verb, { run: corpRun.run.id });
      expect(r.card).toBeNull();
      expect(r.refusal).toMatch(new RegExp(`run #${corpRun.run.id} of corp was never held for approval \\(it is \\w+\\); nothing was done`));
      expect(r.refusal).not.toMatch(/Approval needed/);
    }
    expect(s.updates(runs)).toBe(0);
    expect(await rowsOf(`select status, decided_by from runs where id = ${corpRun.run.id}`)).toEqual([{ status: corpRun.run.status, decided_by: null }]);
    expect(await rowsOf(`select id from audit_log where actor <> 'test'`)).toEqual(audit);
  });

  it('shows the last page for a page offset far past the end, in every paged view', async () => {
    h = await harness(ldap);
    const db = h.service.app.store.db;
    await db.execute(sql`insert into local_groups (name, description) values ('Developers', 'made by hand')`);
    await db.execute(sql`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`);
    const hrRun = await h.service.app.ops.sync({ connection: 'hr', trigger: 'manual', actor: 'test' });
    expect(hrRun.run.skipped.length).toBeGreaterThan(0);
    const s = h.surfaces[surfaceName];
    const pages: Array<[string, string, Record<string, unknown>, RegExp]> = [
      ['health', 'page', { view: 'health', offset: FAR }, /edge-users/],
      ['conflicts hr', 'page', { view: 'conflicts', connection: 'hr', offset: FAR }, /jdoe/],
      ['duplicates hr', 'page', { view: 'duplicates', connection: 'hr', offset: FAR }, /developers/],
      ['runs hr', 'page', { view: 'runs', connection: 'hr', offset: FAR }, new RegExp(`#${hrRun.run.id}`)],
      [`run ${hrRun.run.id}`, 'page', { view: 'run.skipped', run: hrRun.run.id, offset: FAR }, /dave/],
      ['users hr', 'users.page', { connection: 'hr', offset: FAR }, /jdoe/],
      ['audit hr', 'audit.page', { connection: 'hr', offset: FAR }, /[Cc]reated/],
    ];
    for (const [command, verb, data, item] of pages) {
      const id = await s.say(command);
      const r = await s.click(id, verb, data);
      expect(r.refusal, `${command}: ${r.refusal}`).toBeNull();
      expect(r.card, command).toMatch(item);
      expect(r.card, command).not.toMatch(/10,?000,?001/);
    }
  });
});
