/**
 * groupsync on the command line: the operations of the chat commands, for the terminal and for
 * scripts. Tables for people, `--json` for scripts, exit codes scripts can trust (see EXIT).
 */
import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
import type { App } from '../app.ts';
import { GroupsyncError, describeError, isGroupsyncError } from '../errors.ts';
import { UsageError } from '../chat/commands/spec.ts';
import type { SyncResult } from '../sync/engine.ts';
import { displayText } from '../chat/views/format.ts';
import { addCommands } from './grammar.ts';
import type { Logger } from '../logger.ts';

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

/** The longest argument accepted, as in chat: a DN with room to spare. */
const MAX_ARGUMENT = 512;

type Io = { out: (text: string) => void; err: NodeJS.WriteStream; setExit: (code: number) => void };

/**
 * The program: global options, then the commands of the chat table and the terminal's own
 * (grammar.ts); what a command does is in commands.ts, loaded when a command runs.
 */
export function buildProgram(getApp: () => Promise<App>, io: Io): Command {
  const program = new Command('groupsync')
    .description('Keep application groups in step with Active Directory, LDAP directories and Microsoft Entra ID.')
    .option('--json', 'print machine-readable JSON instead of tables')
    .option('--actor <name>', 'who is acting, for the audit log', `cli:${safeUser()}`)
    .showHelpAfterError('(run "groupsync help <command>" for its usage)')
    .exitOverride();
  addCommands(program, async (invocation) => {
    const [{ runInvocation }, app] = await Promise.all([import('./commands.ts'), getApp()]);
    const globals = program.opts<Globals>();
    const json = !!globals.json;
    await runInvocation(
      {
        app,
        json,
        actor: globals.actor ?? `cli:${safeUser()}`,
        err: io.err,
        // Text shows directory text neutralised (an escape sequence or a bidi override in a name
        // would repaint or reorder the terminal); --json gives the values exactly as stored.
        print: (value, human) => io.out(json ? JSON.stringify(value, null, 2) : displayText(human())),
        outcome: (kind: 'run' | 'red', value: SyncResult | boolean) =>
          io.setExit(kind === 'run' ? exitForRun(value as SyncResult) : value ? EXIT.red : EXIT.ok),
      },
      invocation,
    );
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
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'silent', { format: config.logFormat ?? undefined });
  return createApp(config, { logger, onStoreEvent: (message) => storeNotice(message, logger) });
}

/**
 * What the embedded store did, on stderr when it is news to the admin (a cluster made, a crash
 * recovered, a port moved, a stale file removed); joining, starting and stopping it are routine.
 */
function storeNotice(message: string, logger: Logger): void {
  if (/^(attached to|started|stopped) the embedded PostgreSQL/.test(message)) return;
  // What the migrations did goes to the log (silent unless LOG_LEVEL is set), "up to date" only at debug.
  if (/^store schema up to date/.test(message)) return logger.debug(message);
  if (/^store schema/.test(message)) return logger.info(message);
  process.stderr.write(`groupsync: ${message}\n`);
}

/** A reader that stops early (`| head`) closes stdout: the command goes on (a sync is not cut off mid-run). */
function ignoreClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

/** `--json` among the global options (before a lone `--`), known before commander has parsed them. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * The stable code and the message of a refusal: a GroupsyncError's own code; INVALID_ARGUMENT for
 * what the command table's checks refuse (with the usage line); INTERNAL for anything unexpected.
 */
function errorReport(error: unknown): { code: string; message: string } {
  if (error instanceof UsageError) return { code: 'INVALID_ARGUMENT', message: `${error.message}${error.usage ? `\nusage: groupsync ${error.usage}` : ''}` };
  if (isGroupsyncError(error)) return { code: error.code, message: describeError(error) };
  return { code: 'INTERNAL', message: describeError(error) };
}

/** `{ "error": { "code", "message" } }` on stdout, for `--json`: a script parses stdout whatever happened. */
function printJsonError(code: string, message: string): void {
  process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
}

export async function runCli(argv: string[]): Promise<number> {
  ignoreClosedStdout();
  let app: App | null = null;
  let exitCode: number = EXIT.ok;
  const program = buildProgram(
    async () => (app ??= await openApp()),
    { out: (text) => process.stdout.write(`${text}\n`), err: process.stderr, setExit: (code) => (exitCode = code) },
  );
  const json = wantsJson(argv);
  program.configureOutput({
    writeErr: (text) => process.stderr.write(text),
    // commander's own refusals ("error: missing required argument …") carry the code too.
    outputError: (text, write) => write(text.replace(/^error: /, 'error INVALID_ARGUMENT: ')),
  });
  try {
    // As in chat: a huge argument is refused before it is used or echoed in a message.
    if (argv.some((arg) => arg.length > MAX_ARGUMENT)) throw new GroupsyncError('INVALID_ARGUMENT', `an argument is longer than ${MAX_ARGUMENT} characters`);
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      // commander printed the message and the usage hint on stderr; a script reads the JSON.
      if (exitCode !== EXIT.ok && json) printJsonError('INVALID_ARGUMENT', error.message.replace(/^error: /, ''));
    } else {
      const { code, message } = errorReport(error);
      process.stderr.write(`error ${code}: ${displayText(message)}\n`);
      if (json) printJsonError(code, message);
      exitCode = error instanceof UsageError ? EXIT.usage : exitFor(error);
    }
  } finally {
    if (app) await (app as App).close();
  }
  return exitCode;
}

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
