/**
 * groupsync on the command line: the operations of the chat commands, for the terminal and for
 * scripts. Tables for people, `--json` for scripts, exit codes scripts can trust (see EXIT).
 */
import { userInfo } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import type { App } from '../app.ts';
import { GroupsyncError, clip, describeError, isGroupsyncError } from '../errors.ts';
import type { ProgressEvent, SyncResult } from '../sync/engine.ts';
import { describeProgress } from '../sync/progress.ts';
import { displayText } from '../chat/views/format.ts';
import { renderConflicts, renderDuplicates, renderHealth, renderIncidents, renderPlan, renderRun, renderRuns, renderStatus, renderSyncResult } from './render.ts';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  awaitingApproval: 3,
  alreadyRunning: 4,
  partial: 5,
  notFound: 6,
  /** `health`: something is red. */
  red: 7,
} as const;

interface Globals {
  json?: boolean;
  actor?: string;
}

function exitFor(error: unknown): number {
  if (isGroupsyncError(error)) {
    switch (error.code) {
      case 'ALREADY_RUNNING':
        return EXIT.alreadyRunning;
      case 'AWAITING_APPROVAL':
        return EXIT.awaitingApproval;
      case 'INVALID_ARGUMENT':
      case 'AMBIGUOUS':
        return EXIT.usage;
      case 'NOT_FOUND':
      case 'DIRECTORY_NOT_FOUND':
        return EXIT.notFound;
      default:
        return EXIT.failed;
    }
  }
  return EXIT.failed;
}

function exitForRun(result: SyncResult): number {
  switch (result.run.status) {
    case 'success':
    case 'dry_run':
      return EXIT.ok;
    case 'partial':
      return EXIT.partial;
    case 'awaiting_approval':
      return EXIT.awaitingApproval;
    default:
      return EXIT.failed;
  }
}

/** Ids are PostgreSQL integers: a larger number is refused here, not by the database. */
const MAX_ID = 2_147_483_647;
/** The most rows one command lists (page with --before / --offset beyond it). */
const MAX_LIMIT = 1000;
/** The longest argument accepted, as in chat: a DN with room to spare. */
const MAX_ARGUMENT = 512;

function wholeNumber(name: string, min: number, max: number) {
  return (value: string) => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) throw new GroupsyncError('INVALID_ARGUMENT', `${name} must be a whole number from ${min} to ${max}, got "${clip(value)}"`);
    return n;
  };
}
const id = (name: string) => wholeNumber(name, 1, MAX_ID);
const limit = (name: string) => wholeNumber(name, 1, MAX_LIMIT);
const offset = (name: string) => wholeNumber(name, 0, MAX_ID);

function progressPrinter(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  let last = 0;
  let phase = '';
  return (event) => {
    const now = Date.now();
    const text = `run #${event.runId}: ${describeProgress(event)}`;
    if (stream.isTTY) {
      // One line, rewritten in place: cut to the terminal's width (a wrapped line could not be).
      stream.write(`\r\x1b[2K${text.slice(0, Math.max(20, (stream.columns || 100) - 1))}`);
    } else if (now - last > 2000 || event.phase !== phase) {
      stream.write(`${text}\n`);
      last = now;
    }
    phase = event.phase;
  };
}

export function buildProgram(
  getApp: () => Promise<App>,
  io: { out: (text: string) => void; err: NodeJS.WriteStream; setExit: (code: number) => void },
): Command {
  const program = new Command('groupsync')
    .description('Keep application groups in step with Active Directory and LDAP directories.')
    .option('--json', 'print machine-readable JSON instead of tables')
    .option('--actor <name>', 'who is acting, for the audit log', `cli:${safeUser()}`)
    .showHelpAfterError('(run "groupsync help <command>" for its usage)')
    .exitOverride();

  const globals = (): Globals => program.opts<Globals>();
  // Tables show directory text neutralised (an escape sequence or a bidi override in a name would
  // repaint or reorder the terminal); --json gives the values exactly as stored.
  const print = (value: unknown, human: () => string) => io.out(globals().json ? JSON.stringify(value, null, 2) : displayText(human()));
  const actor = () => globals().actor ?? `cli:${safeUser()}`;

  program
    .command('connections')
    .description('list the configured connections')
    .action(async () => {
      const app = await getApp();
      const list = app.ops.listConnections().map((c) => ({ name: c.name, kind: c.kind, enabled: c.enabled }));
      print(list, () => list.map((c) => `${c.name}\t${c.kind}\t${c.enabled ? 'enabled' : 'disabled'}`).join('\n'));
    });

  program
    .command('status')
    .argument('<connection>')
    .description('the connection page: enabled, kind, users, conflicts, SSL status, last 10 attempts')
    .action(async (connection: string) => {
      const app = await getApp();
      const status = await app.ops.status(connection);
      print(status, () => renderStatus(status));
    });

  program
    .command('health')
    .description('every connection and linked group, red first, with reasons, last sync and next run')
    .option('--all', 'list green links too (red ones are always listed)')
    .action(async (options: { all?: boolean }) => {
      const app = await getApp();
      const health = await app.ops.health();
      print(health, () => renderHealth(health, !!options.all));
      io.setExit(health.some((c) => c.status === 'red') ? EXIT.red : EXIT.ok);
    });

  program
    .command('incidents')
    .description('open alert incidents (failed runs, runs awaiting approval, red links and connections)')
    .option('--all', 'resolved ones too')
    .option('--limit <n>', 'how many', limit('--limit'), 50)
    .action(async (options: { all?: boolean; limit: number }) => {
      const app = await getApp();
      const list = await app.ops.incidents({ all: !!options.all, limit: options.limit });
      print(list, () => renderIncidents(list));
    });

  program
    .command('remove')
    .argument('<connection>')
    .option('--confirm', 'really remove its links, mappings and history')
    .description("remove a connection's state, links and history (local users and groups stay)")
    .action(async (connection: string, options: { confirm?: boolean }) => {
      const app = await getApp();
      const result = await app.ops.removeConnection(connection, actor(), !!options.confirm);
      print(result, () =>
        `removed ${result.name}: ${result.removed?.links ?? 0} links, ${result.removed?.mappings ?? 0} mappings, ${result.removed?.runs ?? 0} runs` +
          (result.stillConfigured ? `\n"${result.name}" is still in the connections file: delete it there too, or it is registered again at the next start` : ''),
      );
    });

  program
    .command('sync')
    .argument('<connection>')
    .argument('[groups...]', 'only these linked groups (names or DNs)')
    .addOption(new Option('--kind <kind>', 'only links of this kind').choices(['group', 'security']))
    .option('--dry-run', 'print the plan and change nothing')
    .option('--full', 'read the directory in full, not incrementally (also checks the kept state against it)')
    .description('run a sync now; exit 0 success, 5 partial, 3 held for approval (or another run awaits approval), 1 failed, 4 already running, 6 unknown connection or group')
    .action(async (connection: string, groups: string[], options: { kind?: 'group' | 'security'; dryRun?: boolean; full?: boolean }) => {
      const app = await getApp();
      const result = await app.ops.sync({
        connection,
        trigger: 'manual',
        actor: actor(),
        dryRun: !!options.dryRun,
        ...(options.full ? { full: true } : {}),
        groups,
        ...(options.kind ? { kind: options.kind } : {}),
        onProgress: globals().json ? undefined : progressPrinter(io.err),
      });
      if (io.err.isTTY && !globals().json) io.err.write('\r\x1b[2K');
      print({ run: result.run, counts: result.counts, plan: options.dryRun ? result.plan : undefined }, () =>
        options.dryRun && result.plan ? `${renderSyncResult(result)}\n\n${renderPlan(result.plan)}` : renderSyncResult(result),
      );
      io.setExit(exitForRun(result));
    });

  program
    .command('runs')
    .argument('<connection>')
    .option('--limit <n>', 'how many', limit('--limit'), 20)
    .option('--before <id>', 'runs older than this run id (paging)', id('--before'))
    .description('run history, newest first')
    .action(async (connection: string, options: { limit: number; before?: number }) => {
      const app = await getApp();
      const runs = await app.ops.runs(connection, options.limit, options.before);
      print(runs, () => renderRuns(runs));
    });

  program
    .command('run')
    .argument('<id>', 'run id', id('run id'))
    .option('--audit <n>', 'how many audit entries to show', wholeNumber('--audit', 0, MAX_LIMIT), 50)
    .description("one run's counters, skipped objects and audit entries")
    .action(async (id: number, options: { audit: number }) => {
      const app = await getApp();
      const detail = await app.ops.run(id, options.audit);
      print(detail, () => renderRun(detail));
    });

  program
    .command('conflicts')
    .argument('<connection>')
    .option('--offset <n>', 'skip this many', offset('--offset'), 0)
    .option('--limit <n>', 'how many', limit('--limit'), 20)
    .description('users in conflict or unmapped, with their candidates')
    .action(async (connection: string, options: { offset: number; limit: number }) => {
      const app = await getApp();
      const page = await app.ops.conflicts(connection, options.offset, options.limit);
      print(page, () => renderConflicts(page));
    });

  program
    .command('duplicates')
    .argument('<connection>')
    .option('--offset <n>', 'skip this many', offset('--offset'), 0)
    .option('--limit <n>', 'how many', limit('--limit'), 20)
    .description('directory groups not synced because a local group has their name')
    .action(async (connection: string, options: { offset: number; limit: number }) => {
      const app = await getApp();
      const page = await app.ops.duplicates(connection, options.offset, options.limit);
      print(page, () => renderDuplicates(page));
    });

  program
    .command('duplicate')
    .argument('<action>', 'link (to the existing local group) or ignore')
    .argument('<id>', 'duplicate id', id('duplicate id'))
    .description('resolve a duplicate group')
    .action(async (action: string, id: number) => {
      if (action !== 'link' && action !== 'ignore') throw new GroupsyncError('INVALID_ARGUMENT', `action must be "link" or "ignore", got "${action}"`);
      const app = await getApp();
      const result = await app.ops.resolveDuplicate(id, action, actor());
      print(result, () => `duplicate #${result.id} ${result.name}: ${result.status}${result.status === 'linked' ? ' (synced from the next run)' : ''}`);
    });

  program
    .command('map')
    .argument('<user>', 'directory user: login, mail, DN or directory id')
    .argument('<local-user>', 'local user: #id, login or mail')
    .option('-c, --connection <name>', 'the connection, when the user is in several')
    .description('map a directory user to a local user')
    .action(async (user: string, local: string, options: { connection?: string }) => {
      const app = await getApp();
      const result = await app.ops.map(user, local, actor(), options.connection ? { connection: options.connection } : {});
      print(result, () => `${result.login ?? result.directoryId} (${result.connection}) → local user #${result.localUser.id} ${result.localUser.login ?? ''}; memberships follow at the next sync`);
    });

  for (const [name, description] of [
    ['ignore', 'skip a directory user in every sync (removes an existing mapping)'],
    ['unignore', 'stop ignoring a directory user; it is matched again at the next sync'],
  ] as const) {
    program
      .command(name)
      .argument('<user>', 'directory user: login, mail, DN or directory id')
      .option('-c, --connection <name>', 'the connection, when the user is in several')
      .description(description)
      .action(async (user: string, options: { connection?: string }) => {
        const app = await getApp();
        const opts = options.connection ? { connection: options.connection } : {};
        const result = name === 'ignore' ? await app.ops.ignore(user, actor(), opts) : await app.ops.unignore(user, actor(), opts);
        print(result, () => `${result.login ?? result.directoryId} (${result.connection}): ${result.status}`);
      });
  }

  program
    .command('link')
    .argument('<connection>')
    .argument('<group>', 'directory group: name, DN or id')
    .addOption(new Option('--kind <kind>', 'link kind').choices(['group', 'security']))
    .description('bind a directory group; it is synced from the next run')
    .action(async (connection: string, group: string, options: { kind?: 'group' | 'security' }) => {
      const app = await getApp();
      const result = await app.ops.link(connection, group, actor(), options.kind);
      print(result, () => `linked ${result.group.name} (${result.group.dn ?? result.group.id}) to ${result.connection} as ${result.kind}; synced from the next run`);
    });

  program
    .command('unlink')
    .argument('<connection>')
    .argument('<group>', 'linked group: name, DN or id')
    .description('stop syncing a group; its local group is kept as it is')
    .action(async (connection: string, group: string) => {
      const app = await getApp();
      const result = await app.ops.unlink(connection, group, actor());
      print(result, () => `unlinked ${result.name} from ${result.connection}; local group kept`);
    });

  program
    .command('approve')
    .argument('<run>', 'run id', id('run id'))
    .description('apply a run held for approval (re-checked against the store)')
    .action(async (id: number) => {
      const app = await getApp();
      const result = await app.ops.approve(id, actor());
      print({ run: result.run, counts: result.counts }, () => renderSyncResult(result));
      io.setExit(exitForRun(result));
    });

  program
    .command('reject')
    .argument('<run>', 'run id', id('run id'))
    .description('discard a run held for approval')
    .action(async (id: number) => {
      const app = await getApp();
      const run = await app.ops.reject(id, actor());
      print(run, () => `run #${run.id} rejected by ${run.decidedBy}; nothing applied`);
    });

  return program;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * The config, the store and the engine, built on a command's first use: they are imported here,
 * not at the top, so that `--help` and a usage error load commander and little else.
 */
async function openApp(): Promise<App> {
  const [{ createApp }, { loadConfig, loadDotEnv }, { createLogger }, { z }] = await Promise.all([
    import('../app.ts'),
    import('../config.ts'),
    import('../logger.ts'),
    import('zod'),
  ]);
  // The config is parsed once per command: compiling zod's parsers for it (its default) costs more than it saves.
  z.config({ jitless: true });
  loadDotEnv();
  return createApp(loadConfig(), { logger: createLogger(process.env.LOG_LEVEL ?? 'silent'), onStoreEvent: storeNotice });
}

/**
 * What the embedded store did, on stderr when it is news to the admin (a cluster made, a crash
 * recovered, a port moved, a stale file removed); joining, starting and stopping it are routine.
 */
function storeNotice(message: string): void {
  if (/^(attached to|started|stopped) the embedded PostgreSQL/.test(message)) return;
  process.stderr.write(`groupsync: ${message}\n`);
}

/** A reader that stops early (`| head`) closes stdout: the command goes on (a sync is not cut off mid-run). */
function ignoreClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

export async function runCli(argv: string[]): Promise<number> {
  ignoreClosedStdout();
  let app: App | null = null;
  let exitCode: number = EXIT.ok;
  const program = buildProgram(
    async () => (app ??= await openApp()),
    { out: (text) => process.stdout.write(`${text}\n`), err: process.stderr, setExit: (code) => (exitCode = code) },
  );
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  try {
    // As in chat: a huge argument is refused before it is used or echoed in a message.
    if (argv.some((arg) => arg.length > MAX_ARGUMENT)) throw new GroupsyncError('INVALID_ARGUMENT', `an argument is longer than ${MAX_ARGUMENT} characters`);
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else {
      process.stderr.write(`groupsync: ${displayText(describeError(error))}\n`);
      exitCode = exitFor(error);
    }
  } finally {
    if (app) await (app as App).close();
  }
  return exitCode;
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
