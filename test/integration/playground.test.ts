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
/**
 * The connection's timeout. The alert test waits it out (a paused directory); the progress test
 * must see and photograph the card inside it, which on a loaded 2-core machine took over 2 s.
 */
const READ_TIMEOUT_S = 6;
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
    // Any removal is held for approval (the approval cards below).
    const deletionThreshold = { maxCount: 0, maxPercent: 100, minObjects: 0 };
    service = await startTestService('postgres', [ldapConnection(ldap, { groups: { list: ['edge-users'] }, timeoutSeconds: READ_TIMEOUT_S, deletionThreshold })], {
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

  it('shows every argument of the help card (CAPITALS: Teams drops <connection> as an HTML tag)', async () => {
    keepEvidence('help');
    await say('help');
    const help = card('groupsync commands').last();
    const sync = help.getByText('sync CONNECTION [GROUP…] [--kind group|security] [--dry-run]', { exact: false });
    await sync.waitFor();
    expect(await sync.isVisible()).toBe(true);
    const text = await help.innerText();
    for (const usage of ['status CONNECTION', 'map USER LOCAL-USER [--connection NAME]', 'approve RUN-ID', 'help [COMMAND]']) expect(text).toContain(usage);
    expect(text).not.toMatch(/\bsync\s+\[/); // an argument vanished
    await shot('0-help', sync, help);
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
    // Each candidate with what an admin needs to choose: mail, active or not, last activity.
    await conflicts.getByText(/^jdoe1 · #\d+ · shared@example\.org · active · last activity .*UTC$/).waitFor();
    await conflicts.getByText(/^jdoe2 · #\d+ · SHARED@example\.org · active · last activity .*UTC$/).waitFor();
    // Each user also has a typeahead of any local user (its toggle is a button without a label).
    const labels = async () => (await conflicts.getByRole('button').allInnerTexts()).filter(Boolean);
    expect(await labels()).toEqual(['Map to jdoe1', 'Map to jdoe2', 'Ignore', 'Map to the chosen user', 'Ignore', 'Map to the chosen user']);
    await shot('2-conflicts', mapTo2, conflicts);
    await mapTo2.click();
    // The invoke's answer replaces the card: the notice says who mapped whom, and jdoe is no
    // longer listed (dave, who has no mail, still is).
    const [jdoe2] = await rows<{ id: number }>(`select id from local_users where login = 'jdoe2'`);
    const notice = conflicts.getByText(`jdoe mapped to local user #${jdoe2!.id} jdoe2 by ${ACTOR}`, { exact: true });
    await notice.waitFor();
    await conflicts.getByText('1 user is in conflict or unmapped.').waitFor();
    await mapTo2.waitFor({ state: 'detached' });
    expect(await labels()).toEqual(['Ignore', 'Map to the chosen user']);
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
      // The outcome first: the status in words, then the error.
      const failed = card(/^Run #2 of corp failed/);
      await failed.getByText('DIRECTORY_UNREACHABLE', { exact: true }).waitFor();
      expect(await failed.innerText()).toMatch(/^Run #2 of corp failed: nothing was applied\s+Status\s+failed: nothing applied\s+DIRECTORY_UNREACHABLE\s+/);
    } finally {
      ldap!.resume();
    }
    // … and the alert is a new message nobody asked for (sendToConversation, proactive).
    const alert = card('⚠️ Sync failed — corp');
    await alert.getByText(/^Run #2 failed \(DIRECTORY_UNREACHABLE\)/).waitFor();
    expect(await alert.getByRole('button').allInnerTexts()).toEqual(['Sync now', 'Show run', 'Status']);
    await shot('4-alert', alert.getByRole('button', { name: 'Status' }), alert);
  });

  /** The rendered height of a card, in CSS pixels. */
  const heightOf = async (of: Locator) => Math.round((await of.boundingBox())!.height);
  const heights: Record<string, number> = {};
  afterAll(() => writeFileSync(join(ARTIFACTS, 'heights.json'), `${JSON.stringify(heights, null, 2)}\n`));

  it('the Status button of a health card opens a status card of its own; the health card stays; the status card has the attempts strip and Full resync', async () => {
    keepEvidence('status');
    const before = await card('Sync health').count();
    await say('health');
    // The new health card (an earlier one is on the page too).
    const health = card('Sync health').nth(before);
    await health.getByText('edge-users').waitFor();
    const healthCards = await card('Sync health').count();
    expect(healthCards).toBe(before + 1);
    await health.getByRole('button', { name: 'Status' }).click();
    const status = card(/^🔴 corp$|^🟢 corp$/).last();
    await status.getByText('Last 10 attempts').waitFor();
    // A new message: the shared health card is as everyone saw it.
    expect(await card('Sync health').count()).toBe(healthCards);
    await status.getByText(/^❌ #2 .* · (✅|⚠️) #1 /).waitFor();
    await status.getByText(/^Last error: #2, .* ago, .*UTC: /).waitFor();
    expect(await status.getByRole('button').allInnerTexts()).toEqual(['Sync now', 'Full resync', 'Conflicts', 'Duplicates', 'Run history']);
    await shot('5-status', status.getByText('Last 10 attempts'), status);
  });

  it('a sync\'s result card: the outcome first, counters in a grid, details behind "Show details"', async () => {
    keepEvidence('run');
    await say('sync corp');
    const run = card(/^Run #3 of corp (succeeded|applied)/);
    await run.getByText(/\d+ created · \d+ updated · \d+ deactivated/).waitFor();
    const text = await run.innerText();
    expect(text.indexOf('Status')).toBeLessThan(text.indexOf('Changes'));
    expect(text.indexOf('Changes')).toBeLessThan(text.indexOf('Trigger'));
    expect(text).toMatch(/Skipped\s+\d+ skipped entr(y|ies) \(Show details lists them\)/);
    expect(text).toContain('Alex Wilber');
    expect(text).not.toContain(PLAYGROUND_USER.aadObjectId);
    expect(await run.getByRole('button').allInnerTexts()).toContain('Show details');
    heights.run = await heightOf(run);
    await shot('6-run', run.getByRole('button', { name: 'Show details' }), run);
    // "Show details" opens the details in a card of their own: the skipped entries.
    await run.getByRole('button', { name: 'Show details' }).click();
    const details = card(/^Run #3 of corp (succeeded|applied)/).last();
    await details.getByText('Skipped entries').waitFor();
    expect(await card(/^Run #3 of corp/).count()).toBe(2);
    heights.runDetails = await heightOf(details);
    await shot('6-run-details', details.getByText('Skipped entries'), details);
  });

  it('a dry run says "would" and lists what would change', async () => {
    keepEvidence('dry-run');
    await ldap!.load(`dn: cn=edge-users,ou=groups,dc=example,dc=org\nchangetype: modify\ndelete: member\nmember: uid=jdoe,ou=people,dc=example,dc=org\n`);
    await say('sync corp --dry-run');
    const dry = card(/^Dry run #4 of corp: nothing was applied$/);
    await dry.getByText('What would change').waitFor();
    const text = await dry.innerText();
    expect(text).toMatch(/Status\s+dry run: nothing applied/);
    expect(text).toContain('Would change (nothing applied)');
    expect(text).toMatch(/\d+ to create · \d+ to update · 1 to deactivate/);
    expect(text).toContain('− deactivate user jdoe');
    expect(text).not.toMatch(/\d+ deactivated|success/);
    heights.dryRun = await heightOf(dry);
    await shot('7-dry-run', dry.getByText('What would change'), dry);
  });

  it('a held run: the approval card, approved; a second one, rejected, with its own title and sample', async () => {
    keepEvidence('approval');
    await say('sync corp');
    const held = card('Approval needed: run #5 of corp');
    await held.getByText('What would be removed', { exact: false }).waitFor();
    await held.getByText(/^user jdoe/).waitFor();
    await shot('8-approval-held', held.getByRole('button', { name: 'Approve' }), held);
    await held.getByRole('button', { name: 'Approve' }).click();
    const approved = card(/^Run #5 of corp (succeeded|applied)/);
    await approved.getByText(/^Approved by Alex Wilber/).waitFor();
    await approved.getByText(/ · 1 deactivated · /).waitFor();
    await shot('9-approval-approved', approved.getByText(/^Approved by/), approved);

    // jdoe back (run #6), then out again: held (run #7), rejected.
    await ldap!.load(`dn: cn=edge-users,ou=groups,dc=example,dc=org\nchangetype: modify\nadd: member\nmember: uid=jdoe,ou=people,dc=example,dc=org\n`);
    await say('sync corp');
    await card(/^Run #6 of corp (succeeded|applied)/).waitFor();
    await ldap!.load(`dn: cn=edge-users,ou=groups,dc=example,dc=org\nchangetype: modify\ndelete: member\nmember: uid=jdoe,ou=people,dc=example,dc=org\n`);
    await say('sync corp');
    const second = card('Approval needed: run #7 of corp');
    await second.getByText(/^user jdoe/).waitFor();
    await second.getByRole('button', { name: 'Reject' }).click();
    const rejected = card('Rejected: run #7 of corp');
    await rejected.getByText(/^rejected by Alex Wilber, .*: nothing was applied$/).waitFor();
    expect(await rejected.innerText()).not.toContain('Approval needed');
    expect(await rejected.getByRole('button').allInnerTexts()).toEqual(['Show run']);
    await shot('10-approval-rejected', rejected.getByText(/^rejected by/), rejected);
  });

  it('shows a sync\'s progress live: the phases advance on the card, then the result replaces it', async () => {
    keepEvidence('progress');
    // Every text a "Sync: corp" card shows while the run goes, as the browser renders it.
    // (A script as text: it runs in the browser, where the DOM is; this project's types have none.)
    await page.evaluate(`(() => {
      const seen = [];
      window.progressTexts = seen;
      const record = () => {
        for (const el of document.querySelectorAll('.ac-adaptiveCard')) {
          const text = el.innerText;
          if (/^Sync: corp/.test(text) && seen.at(-1) !== text) seen.push(text);
        }
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    // The directory holds the read for a moment (inside the connection's timeout), so the card is
    // seen mid-run. One picture, of the card alone, keeps the pause short.
    ldap!.pause();
    try {
      await say('sync corp');
      const progress = card('Sync: corp').last();
      await progress.getByText(/Elapsed/).waitFor();
      await progress.screenshot({ path: join(ARTIFACTS, '11-progress-card.png') });
    } finally {
      ldap!.resume();
    }
    // jdoe is still out of edge-users: the run is held again, and its approval card is the result.
    await card('Approval needed: run #8 of corp').waitFor();
    const texts = (await page.evaluate('window.progressTexts')) as string[];
    const phases = texts.map((t) => /Phase\s+([a-z ]+?)\s*(?:\n|$)/.exec(t)?.[1]).filter((p): p is string => !!p);
    const distinct = phases.filter((p, i) => p !== phases[i - 1]);
    // Phases advance in the rendered card: reading, then planning.
    const reading = distinct.findIndex((p) => p.startsWith('reading'));
    expect(reading, distinct.join(' → ')).toBeGreaterThanOrEqual(0);
    expect(distinct.indexOf('planning'), distinct.join(' → ')).toBeGreaterThan(reading);
    expect(texts.some((t) => /Elapsed\s+\d+ s/.test(t))).toBe(true);
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
