import { describe, expect, it } from 'vitest';
import { type Block, LIMITS, escapeMrkdwn, fallbackText, renderBlocks, splitText, verbOfActionId } from '../../src/chat/slack/blocks.ts';
import { buildConflicts, buildHealth, buildMessage } from '../../src/chat/views/build.ts';
import { buildRun } from '../../src/chat/views/runs.ts';
import type { ButtonView, View } from '../../src/chat/views/types.ts';
import { blockButtons, blockTexts, unescapeMrkdwn } from '../support/slack-api.ts';
import { conflictItems, fixtureViews, healthData, runRow, viewFacts } from '../fixtures/views.ts';

/** Every limit Slack enforces on a message's blocks; returns the violations. */
function violations(blocks: readonly Block[]): string[] {
  const out: string[] = [];
  if (blocks.length > LIMITS.blocks) out.push(`${blocks.length} blocks`);
  const ids = new Set<string>();
  blocks.forEach((b, i) => {
    if (b.type === 'header' && b.text.text.length > LIMITS.headerText) out.push(`header ${i} too long`);
    if (b.type === 'section') {
      if (!b.text && !b.fields?.length) out.push(`section ${i} empty`);
      if (b.text && (b.text.text.length > LIMITS.sectionText || !b.text.text.length)) out.push(`section ${i} text ${b.text.text.length}`);
      if ((b.fields?.length ?? 0) > LIMITS.sectionFields) out.push(`section ${i} fields ${b.fields?.length}`);
      for (const f of b.fields ?? []) if (f.text.length > LIMITS.fieldText) out.push(`section ${i} field too long`);
    }
    if (b.type === 'actions' && (b.elements.length > LIMITS.actionsElements || !b.elements.length)) out.push(`actions ${i} has ${b.elements.length}`);
    if (b.type === 'context' && b.elements.length > LIMITS.contextElements) out.push(`context ${i} too many`);
  });
  for (const button of blockButtons(blocks)) {
    if (button.label.length > LIMITS.buttonText) out.push(`button ${button.actionId} label`);
    if (button.value.length > LIMITS.buttonValue) out.push(`button ${button.actionId} value`);
    if (ids.has(button.actionId)) out.push(`duplicate action_id ${button.actionId}`);
    ids.add(button.actionId);
  }
  return out;
}

/** Everything a person can read in the message (mrkdwn unescaped, formatting left in). */
const readable = (blocks: readonly Block[]) => unescapeMrkdwn([...blockTexts(blocks), ...blockButtons(blocks).map((b) => b.label)].join('\n'));

/** No fact or button of the view is missing from its rendering. */
function expectComplete(view: View, blocks: readonly Block[]) {
  const text = readable(blocks);
  const facts = viewFacts(view);
  const missing = facts.texts.filter((t) => !text.includes(t));
  expect(missing).toEqual([]);
  const rendered = blockButtons(blocks).map((b) => `${b.verb} ${JSON.stringify(b.data)}`).sort();
  expect(rendered).toEqual(facts.buttons.map((b) => `${b.verb} ${JSON.stringify(b.data)}`).sort());
}

describe('renderBlocks: every view', () => {
  it.each(fixtureViews().map((f) => [f.name, f.view] as const))('%s: within Slack limits, complete, with fallback text', (_name, view) => {
    const message = renderBlocks(view);
    expect(violations(message.blocks)).toEqual([]);
    expect(message.text.length).toBeGreaterThan(0);
    expect(message.text).not.toMatch(/[<>]/);
    expectComplete(view, message.blocks);
  });

  it('is pure: the same view gives the same message', () => {
    for (const { view } of fixtureViews()) expect(renderBlocks(view)).toEqual(renderBlocks(view));
  });

  it.each([
    ['header', { type: 'header', text: { type: 'plain_text', text: 'Users to resolve in corp', emoji: true } }],
    ['divider between items', { type: 'divider' }],
  ])('conflicts use a %s', (_what, block) => {
    expect(renderBlocks(buildConflicts('corp', { items: conflictItems(2), total: 2, offset: 0, limit: 10 })).blocks).toContainEqual(block);
  });
});

describe('renderBlocks: buttons', () => {
  const view = buildConflicts('corp', { items: conflictItems(2), total: 2, offset: 0, limit: 10 });
  const buttons = blockButtons(renderBlocks(view).blocks);

  it('carries the verb in action_id (unique by index) and the data as JSON in value', () => {
    expect(buttons.map((b) => b.actionId)).toEqual(['conflict.map:0', 'conflict.map:1', 'conflict.ignore:2', 'conflict.map:3', 'conflict.map:4', 'conflict.ignore:5']);
    expect(buttons.map((b) => verbOfActionId(b.actionId))).toEqual(['conflict.map', 'conflict.map', 'conflict.ignore', 'conflict.map', 'conflict.map', 'conflict.ignore']);
    expect(buttons[0]!.data).toEqual({ connection: 'corp', user: conflictItems(1)[0]!.directoryId, local: 11, offset: 0 });
  });

  it('maps positive to primary and destructive to danger', () => {
    const approval = fixtureViews().find((f) => f.name === 'approval pending')!.view;
    expect(blockButtons(renderBlocks(approval).blocks).map((b) => [b.label, b.style])).toEqual([
      ['Approve', 'primary'],
      ['Reject', 'danger'],
      ['Show run', null],
    ]);
  });

  it('clips a label longer than 75 characters, and the full text stays in the message', () => {
    const long = 'x'.repeat(120);
    const message = renderBlocks(buildMessage('Linked', long, 'good', [], [{ label: `Map to ${long}`, verb: 'status.show', data: { connection: 'corp' } }]));
    const [button] = blockButtons(message.blocks);
    expect(button!.label).toHaveLength(75);
    expect(button!.label.endsWith('…')).toBe(true);
    expect(readable(message.blocks)).toContain(long);
  });

  it('says so, instead of making a broken button, when the data is longer than a button value may be', () => {
    const message = renderBlocks(buildMessage('Big', 'text', 'default', [], [{ label: 'Huge', verb: 'status.show', data: { connection: 'c'.repeat(2100) } }]));
    expect(blockButtons(message.blocks)).toEqual([]);
    expect(readable(message.blocks)).toMatch(/“Huge”: the data is too long for a Slack button; use the command instead/);
  });
});

describe('renderBlocks: escaping', () => {
  it('escapes &, < and > of data in mrkdwn, but not in plain text', () => {
    const message = renderBlocks(buildHealth(healthData(1)));
    const sections = blockTexts(message.blocks).join('\n');
    expect(sections).toContain('R&amp;D &lt;Ops&gt;');
    expect(sections).not.toContain('<Ops>');
    const conflict = renderBlocks(buildConflicts('corp', { items: conflictItems(1), total: 1, offset: 0, limit: 10 }));
    expect(blockTexts(conflict.blocks).join('\n')).toContain('*John &lt;Doe&gt; &amp; Co (jdoe)*');
    const header = renderBlocks(buildMessage('R&D <Ops>', 'x')).blocks[0]!;
    expect(header).toEqual({ type: 'header', text: { type: 'plain_text', text: 'ℹ️ R&D <Ops>', emoji: true } });
  });

  it.each([
    ['a & b', 'a &amp; b'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<!channel>', '&lt;!channel&gt;'],
    ['&amp;', '&amp;amp;'],
  ])('escapeMrkdwn(%j) = %j', (input, output) => {
    expect(escapeMrkdwn(input)).toBe(output);
  });

  it('escapes the fallback text', () => {
    expect(fallbackText(buildMessage('Not found', 'no group <R&D>'))).toBe('Not found: no group &lt;R&amp;D&gt;');
  });
});

describe('renderBlocks: limits', () => {
  it('splits a text longer than 3,000 characters across sections, losing nothing', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: ${'é'.repeat(40)} & more`).join('\n');
    const message = renderBlocks(buildMessage('Long', text));
    expect(violations(message.blocks)).toEqual([]);
    const sections = message.blocks.filter((b) => b.type === 'section').map((b) => (b.type === 'section' ? b.text!.text : ''));
    expect(sections.length).toBeGreaterThan(5);
    expect(unescapeMrkdwn(sections.join('\n'))).toBe(text);
  });

  it('splits one line longer than 3,000 characters without cutting an entity', () => {
    const pieces = splitText('&amp;'.repeat(1000), 3000);
    expect(pieces.join('')).toBe('&amp;'.repeat(1000));
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(3000);
      expect(p).toMatch(/^(&amp;)+$/);
    }
  });

  it('puts more than 10 facts in more than one section', () => {
    const facts = Array.from({ length: 23 }, (_, i) => ({ label: `fact ${i}`, value: String(i * 7) }));
    const message = renderBlocks(buildMessage('Facts', 'many', 'default', facts));
    expect(violations(message.blocks)).toEqual([]);
    const fields = message.blocks.flatMap((b) => (b.type === 'section' ? (b.fields ?? []) : []));
    expect(fields).toHaveLength(23);
  });

  it('puts more than 25 buttons in more than one actions block', () => {
    const buttons: ButtonView[] = Array.from({ length: 30 }, (_, i) => ({ label: `B${i}`, verb: 'run.show', data: { run: i + 1 } }));
    const message = renderBlocks(buildMessage('Buttons', 'many', 'default', [], buttons));
    expect(message.blocks.filter((b) => b.type === 'actions').map((b) => (b.type === 'actions' ? b.elements.length : 0))).toEqual([25, 5]);
    expect(violations(message.blocks)).toEqual([]);
  });

  it('shows a header longer than 150 characters as bold text instead', () => {
    const headline = `Run #1 of ${'c'.repeat(160)} succeeded`;
    const message = renderBlocks({ ...buildRun(runRow()), headline });
    expect(message.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: `*${headline}*` } });
  });

  it('drops the dividers first when that is enough to fit', () => {
    const view = buildHealth(healthData(12));
    const message = renderBlocks(view);
    expect(violations(message.blocks)).toEqual([]);
    expect(message.blocks.some((b) => b.type === 'divider')).toBe(false);
    expect(blockButtons(message.blocks).map((b) => b.label)).not.toContain('Status · corp');
    expectComplete(view, message.blocks);
  });

  it('folds a view of more than 50 blocks, even without dividers, into fewer, keeping every fact and button (buttons say what they act on)', () => {
    const view = buildHealth(healthData(40));
    const message = renderBlocks(view);
    expect(violations(message.blocks)).toEqual([]);
    expectComplete(view, message.blocks);
    const labels = blockButtons(message.blocks).map((b) => b.label);
    expect(labels).toContain('Status · branch-39');
    expect(labels).toContain('Sync now · corp');
  });

  it('folds 60 conflicts (a page larger than the views make) without losing a user or a button', () => {
    const view = buildConflicts('corp', { items: conflictItems(60), total: 60, offset: 0, limit: 60 });
    const message = renderBlocks(view);
    expect(violations(message.blocks)).toEqual([]);
    expectComplete(view, message.blocks);
    expect(blockButtons(message.blocks).find((b) => b.data.user === conflictItems(60)[59]!.directoryId && b.verb === 'conflict.ignore')?.label).toBe('Ignore · User 59 (user59)');
  });

  it('when even folded it cannot fit, ends with what is left out and how to see it', () => {
    const buttons: ButtonView[] = Array.from({ length: 1500 }, (_, i) => ({ label: `Run ${i}`, verb: 'run.show', data: { run: i + 1 } }));
    const message = renderBlocks(buildMessage('Too much', 'x', 'default', [], buttons));
    expect(message.blocks).toHaveLength(50);
    expect(violations(message.blocks)).toEqual([]);
    const shown = blockButtons(message.blocks).length;
    const last = message.blocks[49]!;
    expect(last.type === 'section' && last.text?.text).toBe(`⚠️ 0 more sections and ${1500 - shown} more buttons do not fit in one Slack message — use the Next page button, or the CLI (\`groupsync\`), to see them.`);
  });
});
