/**
 * The chat commands: one table gives each command its usage line, summary, example, who may run
 * it and how its arguments are read. The parser, the help card and the Teams and Slack manifests
 * are all built from it, so they cannot drift apart.
 */
import type { ParseArgsOptionsConfig } from 'node:util';
import type { LinkKind } from '../../domain/types.ts';
import { clip } from '../../errors.ts';
import { USER_STATUSES, type UserStatusFilter } from '../../domain/user-status.ts';

export type Role = 'viewer' | 'admin';

export type Command =
  | { readonly name: 'help'; readonly topic: string | null }
  | { readonly name: 'health' }
  | { readonly name: 'status'; readonly connection: string }
  | { readonly name: 'sync'; readonly connection: string; readonly groups: readonly string[]; readonly kind: LinkKind | null; readonly dryRun: boolean; readonly full: boolean }
  | { readonly name: 'runs'; readonly connection: string }
  | { readonly name: 'run'; readonly id: number }
  | { readonly name: 'conflicts'; readonly connection: string }
  | { readonly name: 'duplicates'; readonly connection: string }
  | { readonly name: 'map'; readonly user: string; readonly local: string; readonly connection: string | null }
  | { readonly name: 'ignore'; readonly user: string; readonly connection: string | null }
  | { readonly name: 'unignore'; readonly user: string; readonly connection: string | null }
  | { readonly name: 'link'; readonly connection: string; readonly group: string; readonly kind: LinkKind | null }
  | { readonly name: 'unlink'; readonly connection: string; readonly group: string }
  | { readonly name: 'approve'; readonly runId: number }
  | { readonly name: 'reject'; readonly runId: number }
  | { readonly name: 'users'; readonly connection: string; readonly status: UserStatusFilter | null; readonly search: string | null; readonly page: number }
  | { readonly name: 'audit'; readonly connection: string | null; readonly user: string | null; readonly group: string | null; readonly actor: string | null; readonly since: string | null; readonly page: number }
  | { readonly name: 'incidents' }
  | { readonly name: 'why'; readonly user: string; readonly group: string | null; readonly connection: string | null }
  | { readonly name: 'pause'; readonly connection: string }
  | { readonly name: 'resume'; readonly connection: string }
  | { readonly name: 'subscribe' }
  | { readonly name: 'unsubscribe' };

export type CommandName = Command['name'];

/** A mistake in what was typed: the message says what is wrong; the usage line follows it. */
export class UsageError extends Error {
  readonly usage: string | null;
  constructor(message: string, usage: string | null) {
    super(message);
    this.name = 'UsageError';
    this.usage = usage;
  }
}

type Values = Readonly<Record<string, string | boolean | undefined>>;

export interface CommandSpec {
  readonly name: CommandName;
  readonly usage: string;
  readonly summary: string;
  readonly example: string;
  /** Who may run it; a function when it depends on the arguments. */
  readonly role: Role | ((command: Command) => Role);
  readonly positionals: { readonly min: number; readonly max: number };
  readonly options: ParseArgsOptionsConfig;
  /** The values an option takes, where it takes only these (build() checks them; the CLI offers them). */
  readonly choices?: Readonly<Record<string, readonly string[]>>;
  build(args: readonly string[], values: Values, usage: string): Command;
}

const LINK_KINDS: readonly LinkKind[] = ['group', 'security'];

function kindOf(value: string | boolean | undefined, usage: string): LinkKind | null {
  if (value === undefined) return null;
  const kind = LINK_KINDS.find((k) => k === value);
  if (kind) return kind;
  throw new UsageError(`--kind must be "group" or "security", not "${clip(String(value))}"`, usage);
}

function runIdOf(value: string, usage: string): number {
  const digits = value.replace(/^#/, '');
  if (!/^\d{1,9}$/.test(digits)) throw new UsageError(`"${clip(value)}" is not a run number (write it as 42 or #42)`, usage);
  return Number(digits);
}

function statusOf(value: string | boolean | undefined, usage: string): UserStatusFilter | null {
  if (value === undefined) return null;
  const found = USER_STATUSES.find((s) => s === String(value).toLowerCase());
  if (!found) throw new UsageError(`--status must be one of ${USER_STATUSES.join(', ')}, not "${clip(String(value))}"`, usage);
  return found;
}

const text = (v: string | boolean | undefined) => (typeof v === 'string' && v.trim() ? v.trim() : null);

function pageOf(value: string | boolean | undefined, usage: string): number {
  if (value === undefined) return 1;
  if (!/^\d{1,6}$/.test(String(value)) || Number(value) < 1) throw new UsageError(`--page takes a page number (1, 2, …), not "${clip(String(value))}"`, usage);
  return Number(value);
}

function sinceOf(value: string | boolean | undefined, usage: string): string | null {
  const v = text(value);
  if (v !== null && !/^(\d{1,6}\s*(m|min|h|d|w)|\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)$/i.test(v)) {
    throw new UsageError(`--since takes a duration such as 2h or 7d, or a date such as 2026-03-01, not "${clip(v)}"`, usage);
  }
  return v;
}

/** The read commands (users, audit, incidents, why): what the directory, the audit log and the store say. */
const READ_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'users',
    usage: 'users <connection> [search] [--status unmapped|conflict|ignored|inactive|active|mapped] [--page n]',
    summary: "the directory's users with their mapping status and local user, by login; search matches login, name or mail",
    example: 'users corp --status unmapped',
    role: 'viewer',
    positionals: { min: 1, max: 2 },
    options: { status: { type: 'string' }, page: { type: 'string' } },
    choices: { status: USER_STATUSES },
    build: ([connection, search], values, usage) => ({
      name: 'users',
      connection: connection!,
      status: statusOf(values.status, usage),
      search: search?.trim() || null,
      page: pageOf(values.page, usage),
    }),
  },
  {
    name: 'audit',
    usage: 'audit [connection] [--user name] [--group name] [--actor name] [--since 2h|7d|date] [--page n]',
    summary: 'who changed what, newest first, with names; filtered by user, group, actor and time',
    example: 'audit corp --user jdoe --since 7d',
    role: 'viewer',
    positionals: { min: 0, max: 1 },
    options: { user: { type: 'string' }, group: { type: 'string' }, actor: { type: 'string' }, since: { type: 'string' }, page: { type: 'string' } },
    build: ([connection], values, usage) => ({
      name: 'audit',
      connection: connection ?? null,
      user: text(values.user),
      group: text(values.group),
      actor: text(values.actor),
      since: sinceOf(values.since, usage),
      page: pageOf(values.page, usage),
    }),
  },
  {
    name: 'incidents',
    usage: 'incidents',
    summary: 'the open alerts: connection, cause, since when, consecutive failures, with a button to the run',
    example: 'incidents',
    role: 'viewer',
    positionals: { min: 0, max: 0 },
    options: {},
    build: () => ({ name: 'incidents' }),
  },
  {
    name: 'why',
    usage: 'why <user> [group] [--connection name]',
    summary: 'why a directory user is (or is not) in a linked group: nesting path, mapping, ignore, link and the last change',
    example: 'why jdoe "Finance Team"',
    role: 'viewer',
    positionals: { min: 1, max: 2 },
    options: { connection: { type: 'string', short: 'c' } },
    build: ([user, group], values) => ({ name: 'why', user: user!, group: group ?? null, connection: text(values.connection) }),
  },
];

const connectionOption = { connection: { type: 'string', short: 'c' } } as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'help',
    usage: 'help [command]',
    summary: 'the commands, with examples',
    example: 'help sync',
    role: 'viewer',
    positionals: { min: 0, max: 1 },
    options: {},
    build: ([topic]) => ({ name: 'help', topic: topic ?? null }),
  },
  {
    name: 'health',
    usage: 'health',
    summary: 'every connection and linked group, red first, with the reasons, last sync and next run',
    example: 'health',
    role: 'viewer',
    positionals: { min: 0, max: 0 },
    options: {},
    build: () => ({ name: 'health' }),
  },
  {
    name: 'status',
    usage: 'status <connection>',
    summary: 'a connection: enabled, AD type, users, conflicts, SSL status, last 10 attempts',
    example: 'status corp',
    role: 'viewer',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'status', connection: connection! }),
  },
  {
    name: 'sync',
    usage: 'sync <connection> [group…] [--kind group|security] [--dry-run] [--full]',
    summary: 'starts a sync now; the card shows its progress, then the counters; --dry-run shows the plan and changes nothing; --full reads the directory in full, not incrementally',
    example: 'sync corp "Domain Admins" --dry-run',
    role: 'admin',
    positionals: { min: 1, max: 50 },
    options: { kind: { type: 'string' }, 'dry-run': { type: 'boolean' }, full: { type: 'boolean' } },
    choices: { kind: LINK_KINDS },
    build: ([connection, ...groups], values, usage) => ({
      name: 'sync',
      connection: connection!,
      groups,
      kind: kindOf(values.kind, usage),
      dryRun: values['dry-run'] === true,
      full: values.full === true,
    }),
  },
  {
    name: 'runs',
    usage: 'runs <connection>',
    summary: 'the run history of a connection, newest first',
    example: 'runs corp',
    role: 'viewer',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'runs', connection: connection! }),
  },
  {
    name: 'run',
    usage: 'run <id>',
    summary: "one run's counters, skipped entries and audit entries",
    example: 'run 42',
    role: 'viewer',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([id], _values, usage) => ({ name: 'run', id: runIdOf(id!, usage) }),
  },
  {
    name: 'conflicts',
    usage: 'conflicts <connection>',
    summary: 'users in conflict or unmapped, each with "map to …" and "ignore" buttons',
    example: 'conflicts corp',
    role: 'viewer',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'conflicts', connection: connection! }),
  },
  {
    name: 'duplicates',
    usage: 'duplicates <connection>',
    summary: 'directory groups that clash with a local group, with "link to existing" and "ignore" buttons',
    example: 'duplicates corp',
    role: 'viewer',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'duplicates', connection: connection! }),
  },
  {
    name: 'map',
    usage: 'map <user> <local user> [--connection name]',
    summary: 'maps a directory user (login, mail or id) to a local user (#id, login or mail)',
    example: 'map jdoe #12',
    role: 'admin',
    positionals: { min: 2, max: 2 },
    options: connectionOption,
    build: ([user, local], values) => ({ name: 'map', user: user!, local: local!, connection: (values.connection as string | undefined) ?? null }),
  },
  {
    name: 'ignore',
    usage: 'ignore <user> [--connection name]',
    summary: 'skips a directory user in every sync (its mapping and memberships are removed)',
    example: 'ignore svc-backup',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: connectionOption,
    build: ([user], values) => ({ name: 'ignore', user: user!, connection: (values.connection as string | undefined) ?? null }),
  },
  {
    name: 'unignore',
    usage: 'unignore <user> [--connection name]',
    summary: 'takes a directory user back into the sync',
    example: 'unignore svc-backup',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: connectionOption,
    build: ([user], values) => ({ name: 'unignore', user: user!, connection: (values.connection as string | undefined) ?? null }),
  },
  {
    name: 'link',
    usage: 'link <connection> <group> [--kind group|security]',
    summary: 'binds a directory group (name, DN or id); it is synced from the next run',
    example: 'link corp "Finance Team" --kind security',
    role: 'admin',
    positionals: { min: 2, max: 2 },
    options: { kind: { type: 'string' } },
    choices: { kind: LINK_KINDS },
    build: ([connection, group], values, usage) => ({ name: 'link', connection: connection!, group: group!, kind: kindOf(values.kind, usage) }),
  },
  {
    name: 'unlink',
    usage: 'unlink <connection> <group>',
    summary: 'stops syncing a group; its local group and members stay as they are',
    example: 'unlink corp "Finance Team"',
    role: 'admin',
    positionals: { min: 2, max: 2 },
    options: {},
    build: ([connection, group]) => ({ name: 'unlink', connection: connection!, group: group! }),
  },
  {
    name: 'approve',
    usage: 'approve <run id>',
    summary: 'applies a run held for approval (re-checked against the store)',
    example: 'approve 42',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([id], _values, usage) => ({ name: 'approve', runId: runIdOf(id!, usage) }),
  },
  {
    name: 'reject',
    usage: 'reject <run id>',
    summary: 'discards a run held for approval; nothing is applied',
    example: 'reject 42',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([id], _values, usage) => ({ name: 'reject', runId: runIdOf(id!, usage) }),
  },
  {
    name: 'pause',
    usage: 'pause <connection>',
    summary: 'stops the syncs of a connection (scheduled and forced; dry runs still run) until "resume"',
    example: 'pause corp',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'pause', connection: connection! }),
  },
  {
    name: 'resume',
    usage: 'resume <connection>',
    summary: 'restarts the syncs of a paused connection; a missed scheduled run starts at the next tick',
    example: 'resume corp',
    role: 'admin',
    positionals: { min: 1, max: 1 },
    options: {},
    build: ([connection]) => ({ name: 'resume', connection: connection! }),
  },
  {
    name: 'subscribe',
    usage: 'subscribe',
    summary: 'this conversation gets an alert card when a sync fails, waits for approval or a link turns red',
    example: 'subscribe',
    role: 'admin',
    positionals: { min: 0, max: 0 },
    options: {},
    build: () => ({ name: 'subscribe' }),
  },
  {
    name: 'unsubscribe',
    usage: 'unsubscribe',
    summary: 'this conversation stops getting alerts',
    example: 'unsubscribe',
    role: 'admin',
    positionals: { min: 0, max: 0 },
    options: {},
    build: () => ({ name: 'unsubscribe' }),
  },
  ...READ_COMMANDS,
];

export function specOf(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name.toLowerCase());
}

export function roleOf(command: Command): Role {
  const spec = specOf(command.name)!;
  return typeof spec.role === 'function' ? spec.role(command) : spec.role;
}
