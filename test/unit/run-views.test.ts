/**
 * The run card says what happened before anything else, and its counters agree with it: an
 * applied run "created", a dry run and a held run "would", a rejected run applied nothing. The
 * approval card's title follows the decision. Both surfaces, from the same view.
 */
import { describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/chat/slack/blocks.ts';
import { renderCard } from '../../src/chat/teams/cards.ts';
import { buildApproval, buildRun } from '../../src/chat/views/runs.ts';
import type { RunView, View } from '../../src/chat/views/types.ts';
import type { RunRow } from '../../src/store/runs.ts';
import type { SyncPlan } from '../../src/domain/plan.ts';
import { runRow } from '../fixtures/views.ts';
import { blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { cardTexts } from '../support/teams.ts';

const teams = (v: View) => cardTexts(renderCard(v)).join('\n');
const slack = (v: View) => unescapeMrkdwn(blockTexts(renderBlocks(v).blocks).join('\n'));
const cells = (v: RunView) => v.counters.flatMap((r) => r.values.map((x) => `${x.value} ${x.label}`));

const ALICE = 'teams:Alice Admin (6f4b8a1e-0000-4000-8000-000000000001)';
const held = runRow({ id: 43, status: 'awaiting_approval', errorCode: 'THRESHOLD', error: 'the plan removes 14 users, more than the limit of 5', usersDeactivated: 14, summary: null });

function plan(users: number): SyncPlan {
  const user = (i: number) => ({ directoryId: `d${i}`, dn: null, login: `user${i}`, mail: `user${i}@example.org`, displayName: null, enabled: true, known: false });
  return {
    connection: 'corp',
    groups: { create: [{ directoryId: 'g1', dn: 'cn=Finance,dc=x', name: 'Finance', description: null, kind: 'security', origin: 'scope' }], update: [], delete: [{ linkId: 1, localGroupId: 5, directoryId: 'g2', name: 'Old Team', members: 3 }], duplicates: [], relink: [] },
    users: { create: Array.from({ length: users }, (_, i) => user(i)), map: [], update: [], conflicts: [], unmapped: [], deactivate: [{ localUserId: 9, directoryId: 'd99', login: 'gone', reason: 'left the scope' }], refresh: [], ignored: 0 },
    memberships: { addGroup: [1, 1], addUser: [2, 3], removeGroup: [5], removeUser: [9] },
    skipped: [],
    objectCount: 10,
    membershipCount: 4,
  };
}

describe('the run card: outcome first, counters that agree with it', () => {
  it('an applied run: "applied", counters in the past tense, the summary', () => {
    const v = buildRun(runRow());
    expect(v.outcome[0]).toEqual({ label: 'Status', value: 'applied' });
    expect(v.countersTitle).toBe('Changes');
    expect(cells(v)).toEqual(expect.arrayContaining(['3 created', '1 deactivated', '25 added', '6 removed']));
    expect(v.summary.length).toBe(2);
  });

  it('a dry run: "would", no "success" summary, and the list of what would change, capped', () => {
    const v = buildRun(runRow({ status: 'dry_run', dryRun: true }), { plan: plan(20) });
    expect(v.headline).toBe('Dry run #42 of corp: nothing was applied');
    expect(v.outcome[0]!.value).toBe('dry run: nothing applied');
    expect(v.countersTitle).toBe('Would change (nothing applied)');
    expect(cells(v)).toEqual(expect.arrayContaining(['3 to create', '1 to deactivate', '25 to add', '6 to remove']));
    expect(cells(v).filter((c) => /created|deactivated|added|removed/.test(c))).toEqual([]);
    expect(v.summary).toEqual([]);
    expect(v.changes).toHaveLength(15);
    expect(v.changes.slice(0, 3)).toEqual(['− delete group Old Team (3 members)', '− deactivate user gone (left the scope)', '− remove 1 membership']);
    expect(v.changes).toContain('+ create group Finance [security]');
    expect(v.changesNote).toBe('… and 10 more: the CLI lists them all (groupsync sync corp --dry-run)');
    for (const text of [teams(v), slack(v)]) {
      expect(text).toContain('What would change');
      expect(text).toContain('+ create user user0');
      expect(text).toContain('… and 10 more');
      expect(text).not.toMatch(/success|\d+ created/);
    }
  });

  it('a held run: "held", "would change once approved", the reason', () => {
    const v = buildRun(held);
    expect(v.headline).toBe('Run #43 of corp is held for approval: nothing applied yet');
    expect(v.outcome).toEqual([
      { label: 'Status', value: 'held for approval: nothing applied until an admin approves' },
      { label: 'Held because', value: 'the plan removes 14 users, more than the limit of 5' },
    ]);
    expect(v.countersTitle).toBe('Would change once approved');
    expect(cells(v)).toContain('14 to deactivate');
  });

  it('a rejected run: nothing applied, no counters, the name of who rejected it', () => {
    const v = buildRun({ ...held, status: 'rejected', decidedBy: ALICE, decidedAt: new Date() });
    expect(v.outcome[0]!.value).toBe('rejected by Alice Admin: nothing applied');
    expect(v.countersTitle).toBeNull();
    expect(v.counters).toEqual([]);
    expect(teams(v)).not.toMatch(/14 (deactivated|to deactivate)|−14/);
    expect(slack(v)).not.toMatch(/14 (deactivated|to deactivate)|−14/);
  });

  it('Teams and Slack put the outcome before the counters and the trigger, with a display name instead of the id', () => {
    const v = buildRun(runRow({ status: 'partial', actor: ALICE, skipped: [{ ref: 'uid=dave', reason: 'no mail' }] }));
    for (const text of [teams(v), slack(v)]) {
      const at = (s: string) => text.indexOf(s);
      expect(at(v.headline)).toBe(0);
      expect(at('applied, with 1 skipped entry')).toBeGreaterThan(0);
      expect(at('applied, with 1 skipped entry')).toBeLessThan(at('3 created'));
      expect(at('1 skipped entry (Show details lists them)')).toBeLessThan(at('3 created'));
      expect(at('3 created')).toBeLessThan(at('Alice Admin'));
      expect(text).not.toContain('6f4b8a1e');
      // Skipped entries and the audit are behind "Show details" (a button that opens them).
      expect(text).not.toContain('uid=dave');
    }
    expect(v.buttons.map((b) => `${b.label} ${b.verb}`)).toContain('Show details run.show');
  });

  it('Teams shows the counters as a compact grid (an Adaptive Card Table), Slack as section fields', () => {
    const card = JSON.stringify(renderCard(buildRun(runRow())));
    expect(card).toContain('"type":"Table"');
    expect(card).toContain('"text":"17 created · 4 updated · 1 deactivated · 2 conflicts · 0 ignored"');
    const blocks = renderBlocks(buildRun(runRow())).blocks;
    expect(blocks.some((b) => b.type === 'section' && b.fields?.some((f) => f.text === '*Users*\n17 created · 4 updated · 1 deactivated · 2 conflicts · 0 ignored'))).toBe(true);
  });
});

describe('the approval card', () => {
  it('its title follows the decision', () => {
    expect(buildApproval(held, { reason: null, sample: [] }).title).toBe('Approval needed: run #43 of corp');
    const rejected = buildApproval({ ...held, status: 'rejected', decidedBy: ALICE, decidedAt: new Date() }, { reason: null, sample: [] });
    expect(rejected.title).toBe('Rejected: run #43 of corp');
    expect(rejected.decision).toMatch(/^rejected by Alice Admin, just now, \d\d:\d\d UTC: nothing was applied$/);
    const approved = buildApproval({ ...held, status: 'success', decidedBy: ALICE, decidedAt: new Date() }, { reason: null, sample: [] });
    expect(approved.title).toBe('Approved: run #43 of corp');
    for (const v of [rejected, approved]) {
      expect(teams(v)).not.toContain('Approval needed');
      expect(slack(v)).not.toContain('Approval needed');
    }
  });
});

describe('the status card', () => {
  const now = Date.now();
  const attempt = (id: number, status: RunRow['status'], hoursAgo: number, error: string | null = null) => ({ id, status, startedAt: new Date(now - hoursAgo * 3_600_000), finishedAt: null, trigger: 'schedule' as const, error });

  it('shows the last attempts as a strip of icons with times, a legend, and the last error', async () => {
    const { buildStatus } = await import('../../src/chat/views/build.ts');
    const { STATUS_DATA } = await import('../fixtures/views.ts');
    const v = buildStatus({ ...STATUS_DATA, lastAttempts: [attempt(45, 'success', 2), attempt(44, 'awaiting_approval', 26), attempt(43, 'failed', 50, 'directory unreachable'), attempt(42, 'dry_run', 0.5)] });
    expect(v.strip).toBe('✅ #45 2 h ago · ⏸ #44 1 d ago · ❌ #43 2 d ago · 🔍 #42 30 min ago');
    expect(v.legend).toBe('✅ applied · ⏸ held for approval · ❌ failed · 🔍 dry run');
    expect(v.lastError).toMatch(/^#43, 2 d ago, \d{4}-\d\d-\d\d \d\d:\d\d UTC: directory unreachable$/);
    for (const text of [teams(v), slack(v)]) {
      expect(text).toContain(v.strip);
      expect(text).toContain(v.lastError);
    }
  });

  it('has a "Full resync" button that starts `sync CONNECTION --full`', async () => {
    const { buildStatus } = await import('../../src/chat/views/build.ts');
    const { STATUS_DATA } = await import('../fixtures/views.ts');
    expect(buildStatus(STATUS_DATA).buttons).toContainEqual({ label: 'Full resync', verb: 'sync.start', data: { connection: 'corp', full: 1 } });
  });
});

describe('no yellow text on white', () => {
  it('no card of the fixture set colours text "Warning"', async () => {
    const { fixtureViews } = await import('../fixtures/views.ts');
    for (const { name, view } of fixtureViews()) expect(JSON.stringify(renderCard(view)), name).not.toContain('"color":"Warning"');
  });
});
