/**
 * One fixture set of views, rendered for Teams (Adaptive Card) and Slack (Block Kit): both
 * renderings carry the same names, counts, statuses and buttons.
 */
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/chat/slack/blocks.ts';
import { renderCard } from '../../src/chat/teams/cards.ts';
import type { View } from '../../src/chat/views/types.ts';
import { blockButtons, blockPicks, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { fixtureViews, viewFacts } from '../fixtures/views.ts';
import { readFixtureViews } from '../fixtures/read-views.ts';
import { cardActions, cardPicks, cardTexts } from '../support/teams.ts';

const teams = (view: View) => {
  const card = renderCard(view);
  const actions = cardActions(card);
  return {
    text: cardTexts(card).join('\n'),
    buttons: actions.filter((a) => !('pickInput' in a.data)).map((a) => ({ label: a.title, verb: a.verb, data: a.data })),
    picks: cardPicks(card, actions),
  };
};
const slack = (view: View) => {
  const { blocks } = renderBlocks(view);
  return { text: unescapeMrkdwn(blockTexts(blocks).join('\n')), buttons: blockButtons(blocks).map((b) => ({ label: b.label, verb: b.verb, data: b.data })), picks: blockPicks(blocks) };
};

/** The facts both surfaces must show: names, counts and statuses, per view type. */
function keyFacts(view: View): string[] {
  switch (view.type) {
    case 'users':
      return [view.connection, view.summary, ...view.items.flatMap((i) => [i.user, i.detail, i.state]), ...(view.pager ? [`of ${view.pager.total}`] : [])];
    case 'audit':
      return [view.title, view.summary, ...view.entries.flatMap((x) => [x.text, x.at, x.details])];
    case 'incidents':
      return [view.summary, ...view.items.flatMap((i) => [i.title, i.text, ...i.facts.flatMap((f) => [f.label, f.value])])];
    case 'why':
      return [view.title, ...view.facts.flatMap((f) => [f.label, f.value]), ...view.groups.flatMap((g) => [g.heading, g.reason, ...g.facts.flatMap((f) => [f.label, f.value])])];
    case 'help':
      return view.commands.map((c) => c.usage);
    case 'health':
      return [view.summary, ...view.connections.flatMap((c) => [c.name, c.lastSync, c.nextRun, c.ssl]), ...view.links.flatMap((l) => [l.name, l.connection, l.members, l.reasons])];
    case 'status':
      return [view.name, ...view.facts.flatMap((f) => [f.label, f.value]), ...(view.strip ? [view.strip, view.legend] : []), ...(view.lastError ? [view.lastError] : [])];
    case 'run':
      return [
        view.headline,
        ...view.outcome.flatMap((f) => [f.label, f.value]),
        ...view.facts.map((f) => f.value),
        ...(view.countersTitle ? [view.countersTitle] : []),
        ...view.counters.flatMap((r) => [r.label, ...r.values.map((v) => `${v.value} ${v.label}`)]),
        ...view.changes,
        ...view.skipped,
        ...view.audit,
      ];
    case 'progress':
      return [view.connection, view.text, ...view.steps.flatMap((s) => [s.label, s.value])];
    case 'runs':
      return [view.connection, ...view.runs.flatMap((r) => [`#${r.id}`, r.status, r.actor, r.changes])];
    case 'conflicts':
      return [view.connection, ...(view.total ? [String(view.total)] : []), ...view.items.flatMap((i) => [i.user, i.status, i.reason, ...i.candidates.flatMap((c) => [c.name, c.detail])])];
    case 'duplicates':
      return [view.connection, ...(view.total ? [String(view.total)] : []), ...view.items.flatMap((i) => [i.name, i.directoryRef, i.localGroup])];
    case 'approval':
      return [view.title, `#${view.runId}`, view.connection, view.reason, ...(view.decision ? [view.decision] : []), ...view.facts.flatMap((f) => [f.label, f.value]), ...view.sample];
    case 'alert':
      return [view.title, view.text, ...view.items, ...(view.more ? [view.more] : []), ...view.facts.flatMap((f) => [f.label, f.value])];
    case 'message':
      return [view.title, view.text, ...view.facts.flatMap((f) => [f.label, f.value])];
  }
}

const key = (b: { verb: string; data: Record<string, unknown> }) => `${b.verb} ${JSON.stringify(b.data)}`;

describe.each([...fixtureViews(), ...readFixtureViews()].map((f) => [f.name, f.view] as const))('%s', (_name, view) => {
  const t = teams(view);
  const s = slack(view);

  it('shows the same names, counts and statuses on both surfaces', () => {
    const facts = keyFacts(view);
    expect(facts.length).toBeGreaterThan(0);
    expect(facts.filter((f) => !t.text.includes(f))).toEqual([]);
    expect(facts.filter((f) => !s.text.includes(f))).toEqual([]);
  });

  it('shows in Slack every fact of the view that Teams shows', () => {
    const inTeams = viewFacts(view).texts.filter((f) => t.text.includes(f));
    expect(inTeams.filter((f) => !s.text.includes(f))).toEqual([]);
  });

  it('has the same buttons (verb and data) and labels on both surfaces', () => {
    expect(s.buttons.map(key).sort()).toEqual(t.buttons.map(key).sort());
    // The runs card labels each run's button "Details"; Slack puts it beside the run as "#id".
    const label = (b: { label: string; verb: string }) => (view.type === 'runs' && b.verb === 'run.show' ? 'run' : b.label);
    expect(s.buttons.map((b) => `${key(b)} ${label(b)}`).sort()).toEqual(t.buttons.map((b) => `${key(b)} ${label(b)}`).sort());
  });

  it('has the same searches (dataset, verb, data and the field the choice goes to) on both surfaces', () => {
    const picks = view.type === 'conflicts' ? view.items.filter((i) => i.pick).length : 0;
    expect(t.picks).toHaveLength(picks);
    expect(s.picks.map((p) => JSON.stringify(p)).sort()).toEqual(t.picks.map((p) => JSON.stringify(p)).sort());
  });

  it('fits Slack without folding: one block per part, as Teams lays it out', () => {
    // Folded messages label buttons "Status · corp"; a fixture-sized view never needs that.
    expect(s.buttons.filter((b) => b.label.includes(' · '))).toEqual([]);
  });
});

it('the fixture set has every view type, and the resolved alert', () => {
  const views = fixtureViews().map((f) => f.view);
  expect(new Set(views.map((v) => v.type))).toEqual(new Set(['help', 'health', 'status', 'run', 'progress', 'runs', 'conflicts', 'duplicates', 'approval', 'alert', 'message']));
  expect(views.some((v) => v.type === 'alert' && v.state === 'resolved')).toBe(true);
});

it('the read commands have their views in the parity set: users, audit, incidents, why', () => {
  expect(new Set(readFixtureViews().map((f) => f.view.type))).toEqual(new Set(['users', 'audit', 'incidents', 'why', 'alert']));
});

it.each(readFixtureViews().map((f) => [f.name, f.view] as const))('%s stays inside Block Kit limits, whole (no "do not fit" line)', (_name, view) => {
  const { blocks } = renderBlocks(view);
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const b of blocks) if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
  expect(JSON.stringify(blocks)).not.toContain('do not fit in one Slack message');
});
