import { describe, expect, it } from 'vitest';
import { HOME_BLOCKS, renderHome } from '../../src/chat/slack/home.ts';
import type { HomeView } from '../../src/chat/views/home.ts';
import { blockButtons, blockTexts, homeViolations, unescapeMrkdwn } from '../support/slack-api.ts';

const long = (n: number) => 'x'.repeat(n);

function bigHome(): HomeView {
  return {
    type: 'home',
    role: 'admin',
    title: 'groupsync — admin home',
    intro: 'Health, open incidents, runs awaiting approval and users to resolve.',
    updated: 'Updated just now, 08:00 UTC',
    notice: { tone: 'good', text: `Approved by alice <R&D>; ${long(4000)}` },
    health: {
      status: 'red',
      summary: '40 connections, 40 red',
      connections: Array.from({ length: 40 }, (_, i) => ({ name: `c${i}`, kind: 'ldap', status: 'red' as const, paused: i === 0, reasons: [long(3500)], lastSync: '—', nextRun: '—' })),
      more: null,
    },
    incidents: Array.from({ length: 30 }, (_, i) => ({ title: `Sync failed — c${i}`, text: long(200), buttons: [{ label: `Show run #${i} ${long(100)}`, verb: 'run.show', data: { run: i } }] })),
    incidentsNote: '22 more open incidents: type "incidents"',
    approvals: Array.from({ length: 10 }, (_, i) => ({
      runId: i,
      title: `Approval needed: run #${i} of c${i}`,
      reason: 'too many removals',
      detail: '3 removals',
      buttons: [
        { label: 'Approve', verb: 'run.approve', data: { run: i }, style: 'positive' as const },
        { label: 'Reject', verb: 'run.reject', data: { run: i }, style: 'destructive' as const },
      ],
    })),
    resolve: [],
    resolveNote: null,
  };
}

describe('Slack App Home blocks', () => {
  it('stays within a Home tab’s limits (100 blocks, section and button text), saying what did not fit', () => {
    const view = renderHome(bigHome());
    expect(view.type).toBe('home');
    expect(homeViolations(view)).toEqual([]);
    expect(view.blocks.length).toBe(HOME_BLOCKS);
    expect(unescapeMrkdwn(blockTexts(view.blocks).join('\n'))).toMatch(/\d+ more blocks do not fit on the home: type "health" or "incidents"/);
    expect(unescapeMrkdwn(blockTexts(view.blocks).join('\n'))).toContain('Approved by alice <R&D>');
  });

  it('gives every button its own action_id and its data as the value; styles Approve and Reject', () => {
    const home = bigHome();
    const view = renderHome({ ...home, health: { ...home.health, connections: home.health.connections.slice(0, 2) }, incidents: home.incidents.slice(0, 2) });
    expect(homeViolations(view)).toEqual([]);
    const buttons = blockButtons(view.blocks);
    expect(new Set(buttons.map((b) => b.actionId)).size).toBe(buttons.length);
    expect(buttons.filter((b) => b.verb === 'run.approve').map((b) => [b.data, b.style])).toEqual(home.approvals.map((a) => [{ run: a.runId }, 'primary']));
    expect(buttons.filter((b) => b.verb === 'run.reject').every((b) => b.style === 'danger')).toBe(true);
  });

  it('shows someone who is neither admin nor viewer one line and nothing else', () => {
    const view = renderHome({ ...bigHome(), role: 'none', notice: null, intro: 'You are not a groupsync viewer; ask an admin to add U1.' });
    expect(blockTexts(view.blocks)).toEqual(['You are not a groupsync viewer; ask an admin to add U1.']);
    expect(blockButtons(view.blocks)).toEqual([]);
  });
});
