/**
 * The Teams surface in a browser: the Microsoft 365 Agents Playground (its web UI and mocked Bot
 * Connector, no login) talks to the real service at /api/messages; Debian's Chromium, headless,
 * driven by playwright-core, types commands, reads the rendered Adaptive Cards and clicks their
 * Action.Execute buttons. The directory is a real slapd, the store PostgreSQL.
 *
 * Screenshots go to test/artifacts/playground/ (gitignored); on a failure also the page, the
 * Playground's log and the browser console.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { queryRows } from '../../src/store/db.ts';
import { ldapConnection } from '../support/app.ts';
import { artifactsDir, type BrowserHandle, launchChromium, PLAYGROUND_USER, type PlaygroundHandle, playgroundVersion, startPlayground } from '../support/playground.ts';
import { startTestService, type TestService } from '../support/service.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';

/** How long a card may take to appear or change in the browser. */
const UI_TIMEOUT = 20_000;
const ACTOR = `teams:${PLAYGROUND_USER.name} (${PLAYGROUND_USER.aadObjectId})`;
const ARTIFACTS = artifactsDir('playground');

describe(`Teams in the Microsoft 365 Agents Playground ${playgroundVersion()} (headless Chromium)`, () => {
  let ldap: SlapdHandle | undefined;
  let service: TestService | undefined;
  let playground: PlaygroundHandle | undefined;
  let browser: BrowserHandle | undefined;
  let page: Page;

  /** The rendered Adaptive Card whose title (a heading TextBlock) is `title`. */
  const card = (title: string | RegExp) => page.locator('.ac-adaptiveCard').filter({ has: page.getByRole('heading', { name: title }) });

  /** A screenshot of the page showing `focus`, and one of the card alone. */
  const shot = async (name: string, focus: Locator, cardOf?: Locator) => {
    await focus.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    if (cardOf) await cardOf.screenshot({ path: join(ARTIFACTS, `${name}-card.png`) });
  };

  /** On a failure: what the page showed, the Playground's log and the browser console. */
  const saveEvidence = async (name: string) => {
    await page?.screenshot({ path: join(ARTIFACTS, `failed-${name}.png`) }).catch(() => undefined);
    writeFileSync(join(ARTIFACTS, `failed-${name}.log`), ['# Playground log', playground?.log() ?? '', '# Playground output', playground?.output() ?? '', '# Browser console', ...(browser?.console ?? [])].join('\n'));
  };
  const keepEvidence = (name: string) => onTestFailed(() => saveEvidence(name));

  /** Types a command in the compose box of the open conversation and sends it. */
  const say = async (text: string) => {
    const box = page.getByRole('textbox');
    await box.click();
    await box.fill(text);
    await page.getByRole('button', { name: 'Send Message' }).click();
  };

  const rows = <T,>(text: string) => queryRows<T>(service!.app.store.db, sql.raw(text));

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    service = await startTestService('postgres', [ldapConnection(ldap, { groups: { list: ['edge-users'] }, timeoutSeconds: 2 })], {
      chat: { admins: { teams: [PLAYGROUND_USER.aadObjectId] } },
    });
    // Two local users with jdoe's mail: the first sync leaves jdoe in conflict.
    await service.app.store.db.execute(sql.raw(`insert into local_users (login, mail) values ('jdoe1', 'shared@example.org'), ('jdoe2', 'SHARED@example.org')`));
    const first = await service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    expect(first.run.status).not.toBe('failed');
    expect(await rows(`select status from mappings where login = 'jdoe'`)).toEqual([{ status: 'conflict' }]);

    playground = await startPlayground(`${service.url}/api/messages`);
    browser = await launchChromium();
    page = browser.page;
    page.setDefaultTimeout(UI_TIMEOUT);
    try {
      await page.goto(playground.url);
      // The Playground opens the personal chat and installs the bot: the bot greets with its help card.
      await card('groupsync commands').waitFor();
    } catch (error) {
      await saveEvidence('setup');
      throw error;
    }
  }, 90_000);

  afterAll(async () => {
    // Each step runs even if an earlier one fails; slapd last (it may still be paused).
    const steps = [() => browser?.close(), () => playground?.stop(), () => service?.close(), () => ldap?.resume(), () => ldap?.stop()];
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  });

  it('answers "health" with the health card', async () => {
    keepEvidence('health');
    await say('health');
    const health = card('Sync health');
    await health.waitFor();
    await health.getByText('1 user conflict pending').first().waitFor();
    await health.getByText('edge-users').waitFor();
    await shot('1-health', health, health);
  });

  it('maps a conflict with the card\'s "Map to jdoe2" button (Action.Execute); the card updates in place', async () => {
    keepEvidence('conflict');
    await say('conflicts corp');
    const conflicts = card('Users to resolve in corp');
    const mapTo2 = conflicts.getByRole('button', { name: 'Map to jdoe2' });
    await mapTo2.waitFor();
    // jdoe (two local candidates) and dave (no mail) are listed.
    await conflicts.getByText('2 users are in conflict or unmapped.').waitFor();
    expect(await conflicts.getByRole('button').allInnerTexts()).toEqual(['Map to jdoe1', 'Map to jdoe2', 'Ignore', 'Ignore']);
    await shot('2-conflicts', mapTo2, conflicts);
    await mapTo2.click();
    // The invoke's answer replaces the card: the notice says who mapped whom, and jdoe is no
    // longer listed (dave, who has no mail, still is).
    const [jdoe2] = await rows<{ id: number }>(`select id from local_users where login = 'jdoe2'`);
    const notice = conflicts.getByText(`jdoe mapped to local user #${jdoe2!.id} jdoe2 by ${ACTOR}`, { exact: true });
    await notice.waitFor();
    await conflicts.getByText('1 user is in conflict or unmapped.').waitFor();
    await mapTo2.waitFor({ state: 'detached' });
    expect(await conflicts.getByRole('button').allInnerTexts()).toEqual(['Ignore']);
    // Updated in place: still one such card in the chat, no new message.
    expect(await conflicts.count()).toBe(1);
    await shot('3-conflict-mapped', notice, conflicts);
    expect(await rows(`select status, resolved_by from mappings where login = 'jdoe'`)).toEqual([{ status: 'mapped', resolved_by: ACTOR }]);
  });

  it('posts a proactive alert card to the subscribed chat when a sync fails', async () => {
    keepEvidence('alert');
    await say('subscribe');
    await card('Subscribed to alerts').waitFor();
    const [conversation] = await rows<{ subscribed: boolean; reference: { serviceUrl: string } }>(`select subscribed, reference from conversations where surface = 'teams'`);
    expect(conversation!.subscribed).toBe(true);
    // The Playground's mocked Bot Connector is where the alert will be posted.
    expect(conversation!.reference.serviceUrl).toMatch(new RegExp(`:${playground!.port}/_connector/?$`));
    ldap!.pause();
    try {
      await say('sync corp');
      // The acknowledgement card is updated in place with the result (updateActivity) …
      await card(/^Run #2 of corp failed/).getByText(/^DIRECTORY_UNREACHABLE: /).waitFor();
    } finally {
      ldap!.resume();
    }
    // … and the alert is a new message nobody asked for (sendToConversation, proactive).
    const alert = card('⚠️ Sync failed — corp');
    await alert.getByText(/^Run #2 failed \(DIRECTORY_UNREACHABLE\)/).waitFor();
    expect(await alert.getByRole('button').allInnerTexts()).toEqual(['Sync now', 'Show run', 'Status']);
    await shot('4-alert', alert.getByRole('button', { name: 'Status' }), alert);
  });
});

describe(`The read commands in the Agents Playground ${playgroundVersion()} (headless Chromium)`, () => {
  let ldap: SlapdHandle | undefined;
  let service: TestService | undefined;
  let playground: PlaygroundHandle | undefined;
  let browser: BrowserHandle | undefined;
  let page: Page;

  const card = (title: string | RegExp) => page.locator('.ac-adaptiveCard').filter({ has: page.getByRole('heading', { name: title }) });
  const shot = async (name: string, focus: Locator, cardOf: Locator) => {
    await focus.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    await cardOf.screenshot({ path: join(ARTIFACTS, `${name}-card.png`) });
  };
  const keepEvidence = (name: string) =>
    onTestFailed(async () => {
      await page?.screenshot({ path: join(ARTIFACTS, `failed-${name}.png`) }).catch(() => undefined);
      writeFileSync(join(ARTIFACTS, `failed-${name}.log`), ['# Playground log', playground?.log() ?? '', '# Browser console', ...(browser?.console ?? [])].join('\n'));
    });
  const say = async (text: string) => {
    const box = page.getByRole('textbox');
    await box.click();
    await box.fill(text);
    await page.getByRole('button', { name: 'Send Message' }).click();
  };

  beforeAll(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
    service = await startTestService('postgres', [ldapConnection(ldap, { groups: { filter: '(|(cn=app-admins)(cn=edge-users))' } })], {
      chat: { admins: { teams: [PLAYGROUND_USER.aadObjectId] } },
    });
    await service.app.ops.sync({ connection: 'corp', trigger: 'manual', actor: 'test' });
    await service.app.ops.ignore('dave', ACTOR);
    playground = await startPlayground(`${service.url}/api/messages`);
    browser = await launchChromium();
    page = browser.page;
    page.setDefaultTimeout(UI_TIMEOUT);
    await page.goto(playground.url);
    await card('groupsync commands').waitFor();
  }, 90_000);

  afterAll(async () => {
    const steps = [() => browser?.close(), () => playground?.stop(), () => service?.close(), () => ldap?.stop()];
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((e: unknown) => errors.push(e));
    if (errors.length) throw errors[0];
  });

  it('"users corp" shows each directory user with status and local user', async () => {
    keepEvidence('users');
    await say('users corp');
    const users = card('Directory users of corp');
    await users.getByText(/users, by login\.$/).waitFor();
    await users.getByText(/^bob · mapped → local user #\d+ bob$/).waitFor();
    await users.getByText(/^dave · ignored$/).waitFor();
    await shot('read-users', users.getByText(/^bob · mapped/), users);
  });

  it('"audit corp" shows sentences with the actor\'s name, ids only in the line below', async () => {
    keepEvidence('audit');
    await say('audit corp --user dave');
    const audit = card('Audit log of corp');
    await audit.getByText(`${PLAYGROUND_USER.name} ignored directory user dave (Dave Dunn)`, { exact: true }).waitFor();
    await audit.getByText(/ · directory user .* · corp · teams:/).waitFor();
    await shot('read-audit', audit.getByText(/ignored directory user dave/), audit);
  });

  it('"why bob app-admins" shows the nesting path, the mapping and the last change', async () => {
    keepEvidence('why');
    await say('why bob app-admins');
    const why = card('bob is a member of app-admins');
    await why.getByText('app-admins → app-ops → bob', { exact: true }).waitFor();
    await why.getByText(/^mapped to local user #\d+ bob$/).waitFor();
    await why.getByText(/^run #1: added by test, /).waitFor();
    expect(await why.getByRole('button').allInnerTexts()).toEqual(['Show run #1']);
    await shot('read-why', why.getByText('app-admins → app-ops → bob'), why);
  });
});
