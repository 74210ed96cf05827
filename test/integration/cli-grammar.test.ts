/**
 * The CLI's grammar is the chat command table's: every table command (but the chat-only ones) is
 * a CLI command that reads what is typed into the same typed command as the chat parser does; a
 * table command without a terminal runner of its own runs through its chat handler and prints its
 * view as text.
 */
import path from 'node:path';
import { Command as Program } from 'commander';
import { parseArgsStringToArgv } from 'string-argv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/chat/commands/parse.ts';
import { COMMANDS } from '../../src/chat/commands/spec.ts';
import { buildStatus } from '../../src/chat/views/build.ts';
import { type CliContext, viaChat } from '../../src/cli/commands.ts';
import { type Invocation, addCommands } from '../../src/cli/grammar.ts';
import { viewText } from '../../src/cli/text-views.ts';
import { type TestApp, createTestApp } from '../support/app.ts';

const CHAT_ONLY = ['help', 'subscribe', 'unsubscribe'];

async function parseCli(line: string): Promise<Invocation> {
  let parsed: Invocation | null = null;
  const program = new Program('groupsync').exitOverride();
  addCommands(program, async (invocation) => void (parsed = invocation));
  await program.parseAsync(parseArgsStringToArgv(line), { from: 'user' });
  return parsed!;
}

describe('the CLI grammar is the chat command table', () => {
  it.each(COMMANDS.filter((c) => !CHAT_ONLY.includes(c.name)).map((c) => [c.name, c.example] as const))('%s: "%s" reads as in chat', async (_, example) => {
    const invocation = await parseCli(example);
    expect(invocation).toMatchObject({ kind: 'table', command: parseCommand(example) });
  });

  it('reads every option of the table, with its choices and short form', async () => {
    expect(await parseCli('sync corp app-ops "Domain Admins" --kind security --dry-run --full')).toMatchObject({
      command: { name: 'sync', connection: 'corp', groups: ['app-ops', 'Domain Admins'], kind: 'security', dryRun: true, full: true },
    });
    expect(await parseCli('map jdoe "#12" -c corp')).toMatchObject({ command: { name: 'map', user: 'jdoe', local: '#12', connection: 'corp' } });
    await expect(parseCli('link corp g --kind admins')).rejects.toThrow(/Allowed choices are group, security/);
    await expect(parseCli('users corp --status gone')).rejects.toThrow(/Allowed choices are unmapped, conflict, ignored, inactive, active, mapped/);
  });

  it('reads a placeholder as a value, not as a list of choices ("--since 2h|7d|date": any duration or date)', async () => {
    for (const since of ['3h', '30m', '2026-12-07']) expect(await parseCli(`audit corp --since ${since}`)).toMatchObject({ command: { name: 'audit', since } });
  });

  it('resolves a duplicate each way the buttons do: link, separate (a local group of its own) or ignore', async () => {
    for (const action of ['link', 'separate', 'ignore']) expect(await parseCli(`duplicate ${action} 7`)).toMatchObject({ kind: 'cli', name: 'duplicate', args: [action, 7] });
    await expect(parseCli('duplicate merge 7')).rejects.toThrow(/Allowed choices are link, separate, ignore/);
  });
});

describe('a table command without a terminal runner', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp('postgres', [{ name: 'corp', kind: 'ldif', file: path.resolve(import.meta.dirname, '../../sample/directory.ldif'), groups: { filter: '(cn=app-*)' } }]);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('runs through its chat handler and prints its view as text (--json: the view)', async () => {
    const printed: Array<{ value: unknown; text: string }> = [];
    const cx = (json: boolean): CliContext => ({
      app,
      actor: 'cli:test',
      json,
      err: process.stderr,
      print: (value, human) => void printed.push({ value, text: json ? '' : human() }),
      outcome: () => {},
    });
    await viaChat(cx(false), parseCommand('status corp'));
    expect(printed[0]!.text).toBe(viewText(buildStatus(await app.ops.status('corp'))));
    await viaChat(cx(true), parseCommand('status corp'));
    expect(printed[1]!.value).toMatchObject({ type: 'status', name: 'corp' });
  });
});

describe('CLI help', () => {
  it('fits in 100 columns, the program and each command, wherever it is printed', () => {
    const program = new Program('groupsync').exitOverride();
    addCommands(program, async () => {});
    const texts = [program.helpInformation(), ...program.commands.map((c) => c.helpInformation())];
    for (const text of texts) for (const line of text.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(100);
  });
});
