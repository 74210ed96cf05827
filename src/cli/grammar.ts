/**
 * The CLI's grammar, built from the chat command table (src/chat/commands/spec.ts): every command
 * there is a subcommand here, its arguments read from its usage line (`<required>`, `[optional]`,
 * `[many…]`), its options from its parseArgs options (a `[--kind group|security]` in the usage
 * gives the choices), and what was typed becomes the same typed Command through the spec's own
 * `build`. What only the terminal has is listed here: commands (CLI_ONLY), options (CLI_OPTIONS:
 * paging, --all) and argument checks (ARGUMENT_CHECKS). Loads commander and the table only.
 */
import { Argument, type Command as Program, Option } from 'commander';
import { COMMANDS, type Command, type CommandSpec } from '../chat/commands/spec.ts';
import { GroupsyncError, clip } from '../errors.ts';

/** Chat commands the terminal has no use for: commander has its own help; alerts go to a conversation. */
const CHAT_ONLY: ReadonlySet<string> = new Set(['help', 'subscribe', 'unsubscribe']);

/** Ids are PostgreSQL integers: a larger number is refused here, not by the database. */
const MAX_ID = 2_147_483_647;
/** The most rows one command lists (page with --before / --offset beyond it). */
const MAX_LIMIT = 1000;

export function wholeNumber(name: string, min: number, max: number) {
  return (value: string) => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) throw new GroupsyncError('INVALID_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, got "${clip(value)}"`);
    return n;
  };
}
const id = (name: string) => wholeNumber(name, 1, MAX_ID);
/** A run id, written 42 or #42 as in chat. */
const runId = (name: string) => {
  const parse = id(name);
  return (value: string) => parse(value.replace(/^#/, ''));
};
const limit = (name: string) => wholeNumber(name, 1, MAX_LIMIT);
const offset = (name: string) => wholeNumber(name, 0, MAX_ID);

/** Checks of an argument by its placeholder in the usage line, before anything is opened. */
const ARGUMENT_CHECKS: Readonly<Record<string, (value: string) => unknown>> = {
  id: runId('run id'),
  'run id': runId('run id'),
};

/** What the options of the table say in `--help`, by option name. */
const OPTION_HELP: Readonly<Record<string, string>> = {
  kind: 'only links of this kind',
  'dry-run': 'print the plan and change nothing',
  full: 'read the directory in full, not incrementally (also checks the kept state against it)',
  connection: 'the connection, when the user is in several',
};

const paging = () => [new Option('--offset <n>', 'skip this many').argParser(offset('--offset')).default(0), new Option('--limit <n>', 'how many').argParser(limit('--limit')).default(20)];

/** Terminal options of table commands (paging, --all), by command name. */
const CLI_OPTIONS: Readonly<Record<string, () => Option[]>> = {
  health: () => [new Option('--all', 'list green links too (red ones are always listed)')],
  runs: () => [new Option('--limit <n>', 'how many').argParser(limit('--limit')).default(20), new Option('--before <id>', 'runs older than this run id (paging)').argParser(runId('--before'))],
  run: () => [new Option('--audit <n>', 'how many audit entries to show').argParser(wholeNumber('--audit', 0, MAX_LIMIT)).default(50)],
  conflicts: paging,
  duplicates: paging,
  incidents: () => [new Option('--all', 'resolved ones too'), new Option('--limit <n>', 'how many').argParser(limit('--limit')).default(50)],
};

/** Commands only the terminal has. A command of the same name in the table wins. */
interface CliOnly {
  readonly name: string;
  readonly description: string;
  readonly arguments: readonly Argument[];
  readonly options: () => Option[];
}

const CLI_ONLY: readonly CliOnly[] = [
  { name: 'connections', description: 'list the configured connections', arguments: [], options: () => [] },
  {
    name: 'remove',
    description: "remove a connection's state, links and history (local users and groups stay)",
    arguments: [new Argument('<connection>')],
    options: () => [new Option('--confirm', 'really remove its links, mappings and history')],
  },
  {
    name: 'duplicate',
    description: 'resolve a duplicate group',
    arguments: [
      new Argument('<action>', 'link (into the existing local group), separate (a local group of its own, "Sales (corp)") or ignore').choices(['link', 'separate', 'ignore']),
      new Argument('<id>', 'duplicate id').argParser(id('duplicate id')),
    ],
    options: () => [],
  },
];

export type CliOptions = Readonly<Record<string, unknown>>;

/** What a parsed command line asks for: a table command with its terminal options, or a CLI-only one. */
export type Invocation =
  | { readonly kind: 'table'; readonly command: Command; readonly options: CliOptions }
  | { readonly kind: 'cli'; readonly name: string; readonly args: readonly unknown[]; readonly options: CliOptions };

/** The arguments of a usage line: "sync <connection> [group…] [--kind …]" → <connection> [group...]. */
export function argumentsOf(spec: CommandSpec): Argument[] {
  const tokens = spec.usage.slice(spec.name.length).match(/<[^>]+>|\[[^\]]+\]/g) ?? [];
  return tokens
    .filter((t) => !t.startsWith('[-'))
    .map((t) => {
      const name = t.slice(1, -1).replace(/…$/, '...');
      const argument = new Argument(t.startsWith('<') ? `<${name}>` : `[${name}]`);
      const check = ARGUMENT_CHECKS[name];
      return check ? argument.argParser(check) : argument;
    });
}

/** The options of a table command: its parseArgs options, with the placeholder and choices its usage line gives. */
export function optionsOf(spec: CommandSpec): Option[] {
  return Object.entries(spec.options).map(([name, config]) => {
    const shown = new RegExp(`\\[--${name} ([^\\]]+)\\]`).exec(spec.usage)?.[1];
    const choices = spec.choices?.[name] ?? null;
    const value = config.type === 'string' ? ` <${choices || !shown ? name : shown.replace(/\s+/g, '-')}>` : '';
    const option = new Option(`${config.short ? `-${config.short}, ` : ''}--${name}${value}`, OPTION_HELP[name] ?? '');
    return choices ? option.choices([...choices]) : option;
  });
}

const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Adds the table's commands and the terminal's own to `program`; `run` gets each invocation. */
export function addCommands(program: Program, run: (invocation: Invocation) => Promise<void>): void {
  // Help wraps to the CLI's text width (text-views WIDTH), on a terminal or not; commands added below inherit it.
  program.configureHelp({ helpWidth: 100 });
  const table = COMMANDS.filter((spec) => !CHAT_ONLY.has(spec.name));
  for (const spec of table) {
    const command = program.command(spec.name).description(spec.summary);
    for (const argument of argumentsOf(spec)) command.addArgument(argument);
    const own = optionsOf(spec);
    const taken = new Set(own.map((o) => o.long));
    for (const option of [...own, ...(CLI_OPTIONS[spec.name]?.() ?? []).filter((o) => !taken.has(o.long))]) command.addOption(option);
    command.action(async (...params: unknown[]) => {
      const opts = (params.at(-1) as Program).opts<Record<string, unknown>>();
      const positionals = params.slice(0, -2).flatMap((p) => (Array.isArray(p) ? p : p === undefined ? [] : [p])).map(String);
      const values = Object.fromEntries(Object.keys(spec.options).map((name) => [name, opts[camel(name)] as string | boolean | undefined]));
      await run({ kind: 'table', command: spec.build(positionals, values, spec.usage), options: opts });
    });
  }
  for (const cli of CLI_ONLY.filter((c) => !table.some((s) => s.name === c.name))) {
    const command = program.command(cli.name).description(cli.description);
    for (const argument of cli.arguments) command.addArgument(argument);
    for (const option of cli.options()) command.addOption(option);
    command.action(async (...params: unknown[]) => {
      const opts = (params.at(-1) as Program).opts<Record<string, unknown>>();
      await run({ kind: 'cli', name: cli.name, args: params.slice(0, -2), options: opts });
    });
  }
}
