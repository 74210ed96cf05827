/**
 * docs/chat.md documents every command of the command table: a command added to
 * src/chat/commands/spec.ts fails here until it has its own section (a heading that starts with
 * the command's name), with its usage line and its example.
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/chat/commands/spec.ts';
import { headingsOf, readDoc } from '../support/markdown.ts';

/** The text of each section whose heading starts with a command name, by that name. */
function sectionsByCommand(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  const lines = text.split('\n');
  const names = new Set(headingsOf(text).map((h) => h.text));
  let current: string | null = null;
  for (const line of lines) {
    const heading = /^#{2,4}\s+(.+?)\s*$/.exec(line);
    if (heading && names.has(heading[1]!)) {
      current = /^`?([a-z-]+)/.exec(heading[1]!)?.[1] ?? null;
      if (current) sections.set(current, '');
      continue;
    }
    if (current) sections.set(current, `${sections.get(current)}${line}\n`);
  }
  return sections;
}

describe('docs/chat.md', () => {
  const sections = sectionsByCommand(readDoc('docs/chat.md'));

  it.each(COMMANDS.map((c) => [c.name, c] as const))('documents %s with its usage, who may run it and an example', (_name, spec) => {
    const section = sections.get(spec.name);
    expect(section, `a section whose heading starts with "${spec.name}"`).toBeDefined();
    expect(section).toContain(spec.usage);
    expect(section).toContain(spec.example);
    expect(section).toMatch(typeof spec.role === 'function' ? /admin|viewer/i : new RegExp(`\\b${spec.role}s?\\b`, 'i'));
  });
});
