import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/commands/parse.ts';
import { commandTextOf } from '../../src/chat/slack/text.ts';

describe('commandTextOf: Slack message text to what was typed', () => {
  it.each([
    ['<@UBOT0001> health', 'health'],
    ['<@UBOT0001|groupsync> status corp', 'status corp'],
    ['map <mailto:jdoe@example.org|jdoe@example.org> #12', 'map jdoe@example.org #12'],
    ['link corp <https://wiki.example.org/x|"R&amp;D Team">', 'link corp "R&amp;D Team"'],
    ['status <http://corp.example.org>', 'status http://corp.example.org'],
    ['<!here> runs corp', 'runs corp'],
    ['subscribe <#C0ALERTS01|groupsync-alerts>', 'subscribe #groupsync-alerts'],
    ['ignore svc-&lt;backup&gt;', 'ignore svc-&lt;backup&gt;'],
  ])('%j → %j', (input, output) => {
    expect(commandTextOf(input)).toBe(output);
  });

  it('gives the shared parser the command that was typed, entities decoded', () => {
    expect(parseCommand(commandTextOf('<@UBOT0001> map <mailto:jdoe@example.org|jdoe@example.org> #12'))).toEqual({ name: 'map', user: 'jdoe@example.org', local: '#12', connection: null });
    expect(parseCommand(commandTextOf('<@UBOT0001> link corp "R&amp;D &lt;Ops&gt;"'))).toEqual({ name: 'link', connection: 'corp', group: 'R&D <Ops>', kind: null });
  });
});
