/** Usage lines as chat shows them: placeholders in capitals (Teams drops `<…>` as an HTML tag). */
import { describe, expect, it } from 'vitest';
import { usageText } from '../../src/chat/commands/notation.ts';
import { COMMANDS } from '../../src/chat/commands/spec.ts';
import { renderBlocks } from '../../src/chat/slack/blocks.ts';
import { renderCard } from '../../src/chat/teams/cards.ts';
import { buildHelp } from '../../src/chat/commands/help.ts';
import { blockTexts } from '../support/slack-api.ts';
import { cardTexts } from '../support/teams.ts';

describe('usageText', () => {
  it.each([
    ['status <connection>', 'status CONNECTION'],
    ['sync <connection> [group…] [--kind group|security] [--dry-run]', 'sync CONNECTION [GROUP…] [--kind group|security] [--dry-run]'],
    ['map <user> <local user> [--connection name]', 'map USER LOCAL-USER [--connection NAME]'],
    ['approve <run id>', 'approve RUN-ID'],
    ['help [command]', 'help [COMMAND]'],
    ['health', 'health'],
  ])('%s → %s', (usage, shown) => {
    expect(usageText(usage)).toBe(shown);
  });
});

describe('help shows every argument on both surfaces', () => {
  const help = buildHelp();
  const teams = cardTexts(renderCard(help)).join('\n');
  const slack = blockTexts(renderBlocks(help).blocks).join('\n');

  it('no placeholder in angle brackets, which Teams would swallow', () => {
    expect(teams).not.toMatch(/<[a-z][^>]*>/);
    expect(slack).not.toMatch(/&lt;[a-z]/);
  });

  it.each(COMMANDS.map((c) => [c.name, usageText(c.usage)]))('%s: %s', (_name, usage) => {
    expect(teams).toContain(usage);
    expect(slack).toContain(usage);
  });
});
