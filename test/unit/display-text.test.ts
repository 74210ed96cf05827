/**
 * Directory text that could spoof what an admin reads (bidi overrides, control characters) is
 * shown neutralised, the same way, in Teams cards, Slack blocks and fallback texts (the CLI: see
 * test/integration/directory-data.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { buildConflicts } from '../../src/chat/views/build.ts';
import { displayText } from '../../src/chat/views/format.ts';
import { buildRun } from '../../src/chat/views/runs.ts';
import { fallbackText as slackFallback, renderBlocks } from '../../src/chat/slack/blocks.ts';
import { renderHome } from '../../src/chat/slack/home.ts';
import { viewText } from '../../src/cli/text-views.ts';
import type { HomeView } from '../../src/chat/views/home.ts';
import { fallbackText as teamsFallback, renderCard } from '../../src/chat/teams/cards.ts';
import { conflictItems, runRow } from '../fixtures/views.ts';

/** Characters that must never reach a reader as they are. */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Every string in a rendered card or message, except what a button sends back (its data). */
function stringsOf(value: unknown, key = ''): string[] {
  if (typeof value === 'string') return key === 'data' || key === 'value' ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((v) => stringsOf(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => (k === 'data' ? [] : stringsOf(v, k)));
  return [];
}

describe('displayText', () => {
  it.each([
    { what: 'a right-to-left override', text: 'invoice\u202Efdp.exe', shown: 'invoice[U+202E]fdp.exe' },
    { what: 'bidi isolates and marks', text: 'a\u2066b\u2069c\u200Fd\u061C', shown: 'a[U+2066]b[U+2069]c[U+200F]d[U+061C]' },
    { what: 'C0 controls and an escape sequence', text: 'x\u0001y\u001b[31mred\u0007', shown: 'x[U+0001]y[U+001B][31mred[U+0007]' },
    { what: 'DEL and C1 controls', text: 'a\u007fb\u0085c\u009b', shown: 'a[U+007F]b[U+0085]c[U+009B]' },
    { what: 'line breaks and tabs (layout) kept', text: 'one\ntwo\tthree', shown: 'one\ntwo\tthree' },
    { what: 'letters of any script kept', text: 'Zoë שלום 😀 ﻉ', shown: 'Zoë שלום 😀 ﻉ' },
  ])('$what', ({ text, shown }) => {
    expect(displayText(text)).toBe(shown);
  });
});

describe('directory text in views, cards, blocks and the CLI', () => {
  const item = { ...conflictItems(1)[0]!, login: 'jdoe\u0001', displayName: 'Admin \u202Egnp.exe', dn: 'uid=jdoe\u202E,ou=people,dc=example,dc=org' };
  const conflicts = { items: [item], total: 1, offset: 0, limit: 10 };
  const run = runRow({ status: 'partial', skipped: [{ ref: 'cn=ops\u202E,ou=groups,dc=example,dc=org', reason: 'member "uid=x\u0001" names no entry' }], error: 'bad \u001b[2J' });

  it.each([
    { what: 'conflicts', view: buildConflicts('corp', conflicts) },
    { what: 'the details of a run with skipped entries', view: buildRun(run, { audit: { entries: [], total: 0 } }) },
  ])('$what: Teams and Slack show no hidden character, and show where one was', ({ view }) => {
    for (const [surface, output] of [
      ['teams', renderCard(view)],
      ['slack', renderBlocks(view)],
      ['teams fallback', teamsFallback(view)],
      ['slack fallback', slackFallback(view)],
    ] as const) {
      expect(stringsOf(output).filter((text) => HIDDEN.test(text)), surface).toEqual([]);
    }
    expect(JSON.stringify(renderCard(view))).toContain('[U+202E]');
    expect(JSON.stringify(renderBlocks(view))).toContain('[U+202E]');
  });

  it('the CLI text of a view: neutralised before its tables are laid out, so their columns stay aligned', () => {
    const text = viewText(buildConflicts('corp', conflicts));
    expect(text).toContain('[U+202E]');
    expect(HIDDEN.test(text)).toBe(false);
    const rows = text.split('\n').filter((line) => /^[┌│├└]/.test(line));
    expect(rows.length).toBeGreaterThan(2);
    expect(new Set(rows.map((line) => line.length)).size).toBe(1);
  });

  it('a button still carries the exact directory id it acts on', () => {
    const view = buildConflicts('corp', { ...conflicts, items: [{ ...item, directoryId: 'id\u202E1' }] });
    const card = JSON.stringify(renderCard(view));
    expect(card).toContain('id\u202E1');
  });
});

describe('the Slack Home tab', () => {
  const rlo = 'Admin \u202Egnp.exe\u0001';
  const home: HomeView = {
    type: 'home',
    role: 'admin',
    title: 'groupsync — admin home',
    intro: 'Health, open incidents, runs awaiting approval and users to resolve.',
    updated: 'Updated just now, 08:00 UTC',
    notice: { tone: 'attention', text: `mapped ${rlo}` },
    health: {
      status: 'red',
      summary: '1 connection, 1 red',
      connections: [{ name: 'corp', kind: 'ldap', status: 'red', paused: false, reasons: [`last run #4 failed: member "uid=x\u202E" of ${rlo}`], lastSync: '—', nextRun: '—' }],
      more: null,
    },
    incidents: [{ title: `Link red — ${rlo}`, text: `cn=ops\u202E,ou=groups`, buttons: [{ label: `Show ${rlo}`, verb: 'run.show', data: { run: 4 } }] }],
    incidentsNote: null,
    approvals: [{ runId: 5, title: 'Approval needed: run #5 of corp', reason: `removes ${rlo}`, detail: '\u009b2J', buttons: [] }],
    resolve: [],
    resolveNote: null,
  };

  it('shows no hidden character, and shows where one was (as cards and messages do)', () => {
    const rendered = renderHome(home);
    expect(stringsOf(rendered).filter((text) => HIDDEN.test(text))).toEqual([]);
    expect(JSON.stringify(rendered)).toContain('[U+202E]');
    expect(JSON.stringify(rendered)).toContain('[U+0001]');
  });
});
