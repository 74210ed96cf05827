/**
 * The Slack App Home end to end: signed app_home_opened events and Home-tab clicks POSTed to the
 * real bolt app; the Home tab read back from the loopback Slack's views.publish (validated there:
 * type home, at most 100 blocks, Block Kit's text limits). The directory is a real slapd, the store
 * PostgreSQL.
 */
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SlackConfig } from '../../src/config.ts';
import { queryRows } from '../../src/store/db.ts';
import { ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { ADMIN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, STRANGER, type SlackPerson, VIEWER, appHomeOpened, homeAction, postSlack, slashCommand } from '../support/slack.ts';
import { type ApiCall, type BlockButton, SlackApi, blockButtons, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { type SlackTestService, startSlackService } from '../support/slack-service.ts';

const CHAT = { admins: { slack: [ADMIN.id] }, viewers: { slack: [VIEWER.id] } };
const group = (cn: string) => `cn=${cn},ou=groups,dc=example,dc=org`;

interface Home {
  readonly text: string;
  readonly buttons: BlockButton[];
  readonly publishes: number;
  readonly blocks: unknown[];
}

interface Harness {
  readonly service: SlackTestService;
  readonly api: SlackApi;
  send(request: { body: string; contentType: string }): Promise<ApiCall[]>;
  open(user?: SlackPerson): Promise<Home>;
  home(user?: SlackPerson): Home | null;
  command(text: string, user?: SlackPerson): Promise<string>;
  click(button: BlockButton, user?: SlackPerson): Promise<ApiCall[]>;
  rows<T>(text: string): Promise<T[]>;
  close(): Promise<void>;
}

let responses = 0;

async function harness(connections: Array<Record<string, unknown>>, options: { seed?: string[]; homeThrottleMs?: number } = {}): Promise<Harness> {
  const api = await new SlackApi().start();
  api.addUser({ id: ADMIN.id, name: ADMIN.name, realName: 'Alice Admin', email: 'alice@example.org' });
  api.addUser({ id: VIEWER.id, name: VIEWER.name, realName: 'Victor Viewer', email: 'victor@example.org' });
  const slack: SlackConfig = { botToken: BOT_TOKEN, mode: 'http', signingSecret: SIGNING_SECRET, appToken: null, apiUrl: api.url };
  const service = await startSlackService('postgres', connections, { slack, chat: CHAT, ...(options.homeThrottleMs ? { homeThrottleMs: options.homeThrottleMs } : {}) });
  for (const statement of options.seed ?? []) await service.app.store.db.execute(sql.raw(statement));
  const home = (user: SlackPerson = ADMIN): Home | null => {
    const h = api.home(user.id);
    return h ? { text: unescapeMrkdwn(blockTexts(h.blocks).join('\n')), buttons: blockButtons(h.blocks), publishes: h.publishes, blocks: h.blocks } : null;
  };
  const h: Harness = {
    service,
    api,
    async send(request) {
      const before = api.calls.length;
      const r = await postSlack(service.eventsUrl, request);
      expect(r.status).toBe(200);
      await service.slack.idle();
      return api.calls.slice(before);
    },
    async open(user = ADMIN) {
      const calls = await h.send(appHomeOpened({ user }));
      const published = calls.filter((c) => c.method === 'views.publish');
      expect(published.map((c) => [c.params.user_id, c.response.ok, c.response.error ?? null])).toContainEqual([user.id, true, null]);
      return home(user)!;
    },
    home,
    async command(text, user = ADMIN) {
      const calls = await h.send(slashCommand(text, { user, responseUrl: api.responseUrl(`cmd-${++responses}`) }));
      const posted = calls.find((c) => c.method === 'chat.postMessage' && c.response.ok);
      if (!posted) throw new Error(`no reply to "${text}"`);
      const m = api.message(String(posted.response.channel), String(posted.response.ts))!;
      return unescapeMrkdwn(blockTexts(m.blocks).join('\n'));
    },
    click: (button, user = ADMIN) => h.send(homeAction({ actionId: button.actionId, value: button.value, label: button.label }, { user })),
    rows: <T,>(text: string) => queryRows<T>(service.app.store.db, sql.raw(text)),
    async close() {
      await service.close();
      await api.stop();
    },
  };
  return h;
}

const find = (home: Home, verb: string, label?: RegExp) => {
  const b = home.buttons.find((x) => x.verb === verb && (!label || label.test(x.label)));
  if (!b) throw new Error(`no ${verb} button on the home: ${JSON.stringify(home.buttons.map((x) => `${x.verb} ${x.label}`))}`);
  return b;
};

describe('Slack App Home', () => {
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

  it('an admin gets health, open incidents, a pending approval whose Approve applies the run once, and conflict counts; a viewer a short home; anyone else one line', async () => {
    const local = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    try {
      h = await harness(
        [
          ldapConnection(local, { groups: { filter: '(|(cn=cycle-*)(cn=edge-users))' }, deletionThreshold: { maxCount: 0, maxPercent: 100, minObjects: 0 } }),
          ldapConnection(ldap, { name: 'broken', url: 'ldap://127.0.0.1:1', groups: { list: ['app-ops'] } }),
        ],
        { seed: [`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`] },
      );
      expect(await h.command('sync corp')).toMatch(/^Run #1 of corp /);
      await local.load(`dn: ${group('cycle-b')}\nchangetype: delete\n\ndn: ${group('cycle-a')}\nchangetype: modify\ndelete: member\nmember: ${group('cycle-b')}\n`);
      expect(await h.command('sync corp')).toMatch(/^Approval needed: run #2 of corp/);
      expect(await h.command('sync broken')).toMatch(/failed/);

      const home = await h.open();
      expect(home.publishes).toBe(1);
      // Health: each connection red with its reasons, last sync and next run.
      expect(home.text).toMatch(/🔴 \*broken\* · red/);
      expect(home.text).toMatch(/last run #3 failed/);
      expect(home.text).toMatch(/🔴 \*corp\* · red/);
      expect(home.text).toMatch(/run #2 awaits approval/);
      expect(home.text).toMatch(/Last sync: .*UTC · Next run: /);
      // Open incidents with a button to the run.
      expect(home.text).toMatch(/Sync failed — broken/);
      expect(find(home, 'run.show', /Show run #3/).data).toMatchObject({ run: 3 });
      // The pending approval, with Approve and Reject.
      expect(home.text).toMatch(/Approval needed: run #2 of corp/);
      const approve = find(home, 'run.approve');
      expect(approve.data).toEqual({ run: 2 });
      expect(find(home, 'run.reject').data).toEqual({ run: 2 });
      // Conflicts and unmapped users per connection, with a button to the list.
      expect(home.text).toMatch(/\*corp\*: 1 conflict · \d+ unmapped/);
      const conflicts = find(home, 'conflicts.show', /corp/);

      // The HomeView's facts are what the published blocks show (parity).
      const view = await h.service.chat.home({ user: { surface: 'slack', id: ADMIN.id, aadObjectId: null, name: 'alice' }, conversation: null });
      // (Times without their relative part: the view is built a moment after the home was published.)
      const utc = (time: string) => time.replace(/^.*, /, '');
      for (const c of view.health.connections) for (const fact of [c.name, ...c.reasons, utc(c.lastSync), utc(c.nextRun)]) expect(home.text).toContain(fact);
      for (const i of view.incidents) expect(home.text).toContain(i.title);
      for (const a of view.approvals) expect(home.text).toContain(a.title);
      for (const r of view.resolve) expect(home.text).toContain(`*${r.connection}*: ${r.counts}`);
      const viewButtons = [...view.incidents, ...view.approvals, ...view.resolve].flatMap((x) => x.buttons).map((b) => `${b.verb} ${JSON.stringify(b.data)}`);
      expect(home.buttons.map((b) => `${b.verb} ${JSON.stringify(b.data)}`).sort()).toEqual(viewButtons.sort());

      // A viewer may not approve from the home: told so on their own home, nothing applied.
      await h.open(VIEWER);
      await h.click(approve, VIEWER);
      expect(h.home(VIEWER)!.text).toMatch(/for groupsync admins only/);
      expect(await h.rows(`select status from runs where id = 2`)).toEqual([{ status: 'awaiting_approval' }]);

      // Approve on the home: the run applies, the home is republished without it.
      await h.click(approve);
      // (partial: the conflicting user is skipped, as in run #1.)
      expect(await h.rows(`select status, decided_by from runs where id = 2`)).toEqual([{ status: 'partial', decided_by: 'slack:alice (UADMIN1)' }]);
      const after = h.home()!;
      expect(after.publishes).toBeGreaterThan(home.publishes);
      expect(after.text).toMatch(/Approved by alice/);
      expect(after.text).not.toMatch(/Approval needed: run #2/);
      expect(after.buttons.filter((b) => b.verb === 'run.approve')).toEqual([]);
      expect(await h.rows(`select 1 from local_groups where name = 'cycle-b'`)).toEqual([]);
      // Clicked again (an old home): decided already, nothing applied twice.
      await h.click(approve);
      expect(h.home()!.text).toMatch(/run #2 is not awaiting approval: it is partial by slack:alice \(UADMIN1\)/);
      expect(await h.rows(`select count(*)::int as n from audit_log where action = 'run.approved'`)).toEqual([{ n: 1 }]);

      // The conflicts button posts the list in the admin's direct message with the app.
      const shown = await h.click(conflicts);
      const posted = shown.find((c) => c.method === 'chat.postMessage' && c.response.ok)!;
      expect(posted.params.channel).toBe(ADMIN.id);
      expect(unescapeMrkdwn(blockTexts(posted.params.blocks).join('\n'))).toMatch(/Users to resolve in corp/);

      // A viewer: health only, no buttons that change anything.
      const viewer = h.home(VIEWER)!;
      expect(viewer.text).toMatch(/🔴 \*broken\* · red/);
      expect(viewer.text).not.toMatch(/Pending approvals|Open incidents|Conflicts/);
      expect(viewer.buttons.filter((b) => ['run.approve', 'run.reject'].includes(b.verb))).toEqual([]);
      // Someone else: one line, with the id an admin would add.
      const stranger = await h.open(STRANGER);
      expect(stranger.text).toMatch(/^You are not a groupsync viewer; ask an admin to add UNOBODY9/);
      expect(stranger.text).not.toMatch(/corp|broken/);
      expect(stranger.buttons).toEqual([]);
    } finally {
      await local.stop();
    }
  });

  it('a sync that fails republishes the home of everyone who opened it in the last 30 days, with the new incident; a failed publish breaks neither the run nor the alert', async () => {
    // A window of 1 ms: every change is published (the throttle has a test of its own).
    h = await harness([ldapConnection(ldap, { groups: { list: ['app-ops'] } }), ldapConnection(ldap, { name: 'broken', url: 'ldap://127.0.0.1:1', groups: { list: ['app-ops'] } })], {
      homeThrottleMs: 1,
      seed: [`insert into slack_home_users (user_id, opened_at) values ('UOLD0001', now() - interval '31 days')`],
    });
    await h.command('subscribe');
    const before = await h.open();
    expect(before.text).not.toMatch(/Sync failed/);
    await h.open(VIEWER);
    const opened = await h.rows<{ user_id: string; published: boolean }>(`select user_id, published_at is not null as published from slack_home_users order by user_id`);
    expect(opened).toEqual([
      { user_id: ADMIN.id, published: true },
      { user_id: 'UOLD0001', published: false },
      { user_id: VIEWER.id, published: true },
    ]);

    expect(await h.command('sync broken')).toMatch(/failed/);
    const after = h.home()!;
    expect(after.publishes).toBeGreaterThan(before.publishes);
    expect(after.text).toMatch(/Sync failed — broken/);
    expect(after.text).toMatch(/Run #1 failed/);
    expect(h.home(VIEWER)!.publishes).toBeGreaterThan(1);
    expect(h.home(VIEWER)!.text).toMatch(/🔴 \*broken\* · red/);
    // Opened 31 days ago, or never: not published.
    expect(h.api.calls.filter((c) => c.method === 'views.publish' && ['UOLD0001', STRANGER.id].includes(String(c.params.user_id)))).toEqual([]);

    // Slack refuses the next publishes: the run and the alert go on all the same.
    h.api.failNext('views.publish', 10, 'internal_error');
    const alerts = h.api.messages(CHANNEL.id).length;
    expect(await h.command('sync corp')).toMatch(/^Run #2 of corp succeeded/);
    expect(await h.command('sync broken')).toMatch(/failed/);
    await h.api.waitFor((calls) => calls.some((c) => c.method === 'views.publish' && c.response.error === 'internal_error'));
    expect(await h.rows(`select id, status from runs order by id`)).toEqual([
      { id: 1, status: 'failed' },
      { id: 2, status: 'success' },
      { id: 3, status: 'failed' },
    ]);
    expect(h.api.messages(CHANNEL.id).length).toBeGreaterThanOrEqual(alerts);
  });

  it('refreshes each home at most once per throttle window: a second change inside it is published once, when the window ends', async () => {
    h = await harness([ldapConnection(ldap, { groups: { list: ['app-ops'] } })], { homeThrottleMs: 4000 });
    const first = await h.open();
    expect(first.text).not.toMatch(/paused/);
    await h.command('pause corp');
    const paused = h.home()!;
    expect(paused.publishes).toBe(2);
    expect(paused.text).toMatch(/⏸ \*corp\* · paused/);
    expect(paused.text).toMatch(/paused since .* by slack:alice/);
    await h.command('resume corp');
    // Inside the window: not yet.
    expect(h.home()!.publishes).toBe(2);
    await h.api.waitFor(() => (h!.home()!.publishes === 3 ? true : null), 15_000);
    await h.service.slack.idle();
    expect(h.home()!.text).not.toMatch(/paused/);
    expect(h.home()!.publishes).toBe(3);
    // Opening the home is always answered at once.
    expect((await h.open()).publishes).toBe(4);
  });
});
