/**
 * Every Adaptive Card template in cards/: parsed by the adaptivecards library as schema 1.5,
 * then filled with sample data by adaptivecards-templating and parsed and validated again, with
 * nothing left unexpanded, every button an Action.Execute with a known verb, and within Teams'
 * card size limit.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERBS } from '../../src/chat/commands/actions.ts';
import { CARDS_DIR, TEMPLATE_NAMES, renderCard, templateOf } from '../../src/chat/teams/cards.ts';
import { buildConflicts, buildStatus } from '../../src/chat/views/build.ts';
import type { StatusView } from '../../src/chat/views/types.ts';
import { VIEW_FIXTURES, fixtureViews } from '../fixtures/views.ts';
import { readFixtureViews } from '../fixtures/read-views.ts';
import { cardActions, cardPicks, cardTexts } from '../support/teams.ts';

// The library's ES module build is not loadable by Node; its bundled CommonJS build is.
const AC = createRequire(import.meta.url)('adaptivecards/dist/adaptivecards.js') as typeof import('adaptivecards');

function parseCard(json: unknown): { messages: string[]; card: InstanceType<typeof AC.AdaptiveCard> } {
  const context = new AC.SerializationContext();
  const card = new AC.AdaptiveCard();
  card.parse(json, context);
  const messages: string[] = [];
  for (let i = 0; i < context.eventCount; i++) messages.push(context.getEventAt(i).message);
  for (const e of card.validateProperties().validationEvents) messages.push(e.message);
  return { messages, card };
}

describe('card templates', () => {
  it.each(TEMPLATE_NAMES)('%s.json is an Adaptive Card 1.5 the library parses', (name) => {
    const json = JSON.parse(readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')) as { version: string; type: string };
    expect(json).toMatchObject({ type: 'AdaptiveCard', version: '1.5' });
    const { card } = parseCard(json);
    expect(card.version?.toString()).toBe('1.5');
  });

  it('every template is used by at least one sample view', () => {
    const used = new Set([...Object.values(VIEW_FIXTURES), ...readFixtureViews().map((f) => f.view)].map(templateOf));
    expect([...used].sort()).toEqual([...TEMPLATE_NAMES].sort());
  });

  it.each([...fixtureViews(), ...readFixtureViews()].map((f) => [f.name, f.view] as const))('%s renders to a valid card', (_name, view) => {
    const card = renderCard(view);
    const text = JSON.stringify(card);
    expect(text).not.toMatch(/\$\{|\$data|\$when/);
    expect(Buffer.byteLength(text)).toBeLessThan(28 * 1024);
    const { messages } = parseCard(card);
    // The SDK predates Data.Query: a typeahead's choices come from the bot (application/search), so it has none of its own.
    const typeaheads = cardPicks(card).length;
    expect(messages.filter((m) => !(typeaheads && m === 'An Input.ChoiceSet must have at least one choice defined.'))).toEqual([]);
    for (const action of cardActions(card)) {
      expect(VERBS).toContain(action.verb);
      expect(action.title).not.toBe('');
    }
    expect(cardTexts(card).length).toBeGreaterThan(0);
  });
});

describe('what the cards say', () => {
  const texts = (name: string) => cardTexts(renderCard(VIEW_FIXTURES[name]!));
  const actions = (name: string) => cardActions(renderCard(VIEW_FIXTURES[name]!));

  it('health lists red first with reasons, last sync and next run, and pages long link lists', () => {
    const t = texts('health');
    expect(t.indexOf('🔴 **corp** (ldap)')).toBeLessThan(t.indexOf('🟢 **cloud** (entra)'));
    expect(t).toContain('last run #41 failed: directory unreachable: connect ECONNREFUSED 10.0.0.5:636');
    expect(t).toEqual(expect.arrayContaining([expect.stringMatching(/^Last sync: \d+ d ago, 2026-11-29 06:00 UTC$/), expect.stringMatching(/^Next run: .*2026-12-01 02:00 UTC$/), 'SSL status: expiring']));
    expect(t.indexOf('🔴 Finance Team')).toBeLessThan(t.indexOf('🟢 app-ops'));
    const paged = texts('healthPaged');
    expect(paged).toContain('21–40 of 45');
    expect(actions('healthPaged').map((a) => [a.title, a.data.offset])).toEqual(expect.arrayContaining([['◀ Previous', 0], ['Next ▶', 40]]));
  });

  it('status shows the columns admins know and the last attempts', () => {
    expect(texts('status')).toEqual(
      expect.arrayContaining(['Enabled: yes', 'AD type: Active Directory', 'Synced users: 1234', 'Conflicts: 5', 'SSL status: expiring (expires in 19 days)', expect.stringMatching(/^Last sync: \d+ d ago, 2026-11-29 06:00 UTC$/), expect.stringMatching(/^❌ #42 \d+ d ago · ✅ #41 \d+ d ago$/), expect.stringMatching(/^Last error: #42, .*: directory unreachable$/)]),
    );
  });

  it('an Entra ID connection shows AD type Azure', () => {
    const status = VIEW_FIXTURES.status as StatusView;
    const entra = buildStatus({ name: 'cloud', kind: 'entra', vendor: 'entra', enabled: true, schedule: 'every 1 h after the last sync', linkedGroups: 3, syncedUsers: 5000, conflicts: 0, unmapped: 0, ignored: 0, pendingDuplicates: 0, ssl: { state: 'none', validTo: null, detail: null }, lastSyncAt: null, lastRunAt: null, runningSince: null, lastAttempts: [], health: 'green', reasons: [], nextRunAt: null, quarantinedAt: null, consecutiveFailures: 0 });
    expect(cardTexts(renderCard(entra))).toEqual(expect.arrayContaining(['AD type: Azure', 'Synced users: 5000']));
    expect(status.facts.find((f) => f.label === 'AD type')?.value).toBe('Active Directory');
  });

  it('a run shows every counter and the provisioning summary', () => {
    const t = texts('runSuccess');
    for (const line of ['3 created · 1 modified · 0 deleted · 2 duplicated', '120 created · 7 updated · 4 deactivated · 5 conflicts · 1 ignored', '480 added · 12 removed', '136 impacted · 130 success · 5 unsynced · 0 partial · 1 failed']) {
      expect(t).toContain(line);
    }
    expect(texts('runFailed')).toContain('DIRECTORY_AUTH_FAILED: invalid credentials for cn=svc,dc=corp');
    expect(texts('runFailed')).toContain('Status: failed: nothing applied');
    expect(texts('runDetail')).toContain('1 of 60 audit entries shown; the full log: groupsync run 42 --json');
  });

  it('conflicts carry one map button per candidate, an ignore button and a search of any local user; duplicates link and ignore', () => {
    expect(actions('conflicts').map((a) => `${a.verb} ${a.title}`)).toEqual([
      'conflict.map Map to jdoe',
      'conflict.map Map to john.doe',
      'conflict.ignore Ignore',
      'conflict.map Map to the chosen user',
      'conflict.ignore Ignore',
      'conflict.map Map to the chosen user',
      'page Next ▶',
    ]);
    expect(cardPicks(renderCard(VIEW_FIXTURES.conflicts!))).toEqual([
      { dataset: 'localUsers', verb: 'conflict.map', data: { connection: 'corp', user: 'a1b2', offset: 0 }, field: 'local' },
      { dataset: 'localUsers', verb: 'conflict.map', data: { connection: 'corp', user: 'c3d4', offset: 0 }, field: 'local' },
    ]);
    // Each candidate with what an admin needs to choose: name, id, mail, active or not, last activity, where mapped.
    expect(texts('conflicts')).toContainEqual(expect.stringMatching(/^\*\*John Doe\*\* · #12 · jdoe · jdoe@corp\.example · active · last activity (.* ago, )?2026-11-30 11:30 UTC$/));
    expect(texts('conflicts')).toContain('**john.doe** · #31 · JDOE@corp.example · inactive · no activity recorded · mapped in branch');
    expect(actions('conflicts')[1]!.data).toEqual({ connection: 'corp', user: 'a1b2', local: 31, offset: 0 });
    expect(texts('conflicts')).toContain('1–2 of 12');
    // The sample duplicate's local group is fed by another connection: it shows which, and offers no link into it.
    expect(actions('duplicates').map((a) => `${a.verb} ${a.title}`)).toEqual(['duplicate.separate Sync as "Developers (corp)"', 'duplicate.ignore Ignore']);
    expect(texts('duplicates').join('\n')).toContain('#17 Developers (9 members) · synced from corp-ad');
  });

  it('an approval shows the numbers and a sample; once decided, who and when, without approve/reject', () => {
    expect(texts('approvalPending')).toEqual(expect.arrayContaining(['Users to deactivate: 600', 'Groups to delete: 4', 'user jdoe (deactivate)', 'member bob of app-ops']));
    expect(actions('approvalPending').map((a) => a.verb)).toEqual(['run.approve', 'run.reject', 'run.show']);
    expect(texts('approvalDecided')).toEqual(expect.arrayContaining([expect.stringMatching(/^rejected by Alice Admin, \d+ d ago, 2026-11-30 11:30 UTC: nothing was applied$/)]));
    expect(actions('approvalDecided').map((a) => a.verb)).toEqual(['run.show']);
  });

  it('alerts offer the next step; a resolved alert says how it was resolved', () => {
    expect(actions('alertFailed').map((a) => a.title)).toEqual(['Sync now', 'Show run', 'Status']);
    expect(actions('alertApproval').map((a) => a.title)).toEqual(['Approve', 'Reject', 'Show run', 'Status']);
    expect(actions('alertLinkRed').map((a) => a.title)).toEqual(['Conflicts', 'Duplicates', 'Status']);
    expect(texts('resolved')[0]).toBe('✅ Resolved: Sync failed — corp');
    expect(texts('resolved')).toEqual(expect.arrayContaining([expect.stringMatching(/^Resolved: \d+ d ago, 2026-11-30 11:54 UTC: Run #43 succeeded/)]));
  });
});

describe('data is shown as typed', () => {
  it('a directory name cannot become a link in a card; buttons keep their data exactly', () => {
    const view = buildConflicts('corp', {
      total: 1,
      offset: 0,
      limit: 10,
      items: [{ directoryId: 'x](y', dn: null, login: '[Sign in](https://evil.example)', mail: null, displayName: null, status: 'unmapped', reason: 'no mail', candidates: [] }],
    });
    const card = renderCard(view);
    const user = cardTexts(card).find((t) => t.includes('Sign in'))!;
    expect(user).not.toMatch(/\]\(/);
    expect(user.replace(/\u200B/g, '')).toContain('[Sign in](https://evil.example)');
    expect(cardActions(card).find((a) => a.verb === 'conflict.ignore')!.data).toEqual({ connection: 'corp', user: 'x](y', offset: 0 });
  });
});
