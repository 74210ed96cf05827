/**
 * The help view: the command table (spec.ts) as a neutral view. Built here, in the command layer,
 * because the views know nothing of the commands (chat/views is below chat/commands).
 */
import type { HelpView, NoticeView } from '../views/types.ts';
import { usageText } from './notation.ts';
import { COMMANDS } from './spec.ts';

export function buildHelp(notice: NoticeView | null = null, topic: string | null = null): HelpView {
  const commands = COMMANDS.filter((c) => !topic || c.name === topic).map((c) => ({
    usage: usageText(c.usage),
    summary: c.summary,
    example: c.example,
    adminOnly: c.role === 'admin',
  }));
  return {
    type: 'help',
    title: topic ? `groupsync: ${topic}` : 'groupsync commands',
    intro: 'Keeps application groups in step with the directory. Type a command; words in CAPITALS are yours to fill in; names with spaces go in "double quotes". Commands marked (admin) change something and are for groupsync admins.',
    commands,
    notice,
  };
}
