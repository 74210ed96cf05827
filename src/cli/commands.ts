/**
 * What each CLI command does once parsed (grammar.ts). A command of the chat table runs through
 * its chat handler (chat/commands/handlers.ts) and its view is printed as text — so a command
 * added to the table is in the CLI with no code here. The commands below have a terminal runner
 * of their own because scripts rely on their `--json` output (the operations' data, not a view)
 * and exit codes; their text is still the neutral view (text-views.ts).
 */
import type { App } from '../app.ts';
import type { DuplicateAction } from '../ops/operations.ts';
import type { ChatContext } from '../chat/commands/context.ts';
import type { Command, CommandName } from '../chat/commands/spec.ts';
import { buildConflicts, buildDuplicates, buildHealth, buildStatus } from '../chat/views/build.ts';
import { buildApproval, buildRun, buildRuns } from '../chat/views/runs.ts';
import type { View } from '../chat/views/types.ts';
import { GroupsyncError } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import type { ProgressEvent, SyncResult } from '../sync/engine.ts';
import { describeProgress } from '../sync/progress.ts';
import type { CliOptions, Invocation } from './grammar.ts';
import { renderIncidents, renderPlan } from './render.ts';
import { viewText } from './text-views.ts';

export interface CliContext {
  readonly app: App;
  readonly actor: string;
  readonly json: boolean;
  /** Prints `value` as JSON with --json, else the text `human` gives. */
  print(value: unknown, human: () => string): void;
  readonly err: NodeJS.WriteStream;
  /** The exit code for the outcome (a run's status, red health). */
  outcome(kind: 'run', result: SyncResult): void;
  outcome(kind: 'red', red: boolean): void;
}

type Runner<N extends CommandName> = (cx: CliContext, command: Extract<Command, { name: N }>, options: CliOptions) => Promise<void>;

const text = (view: View, all = false) => () => viewText(view, { allLinks: all });
const connectionOf = (c: { connection: string | null }) => (c.connection ? { connection: c.connection } : {});

/** A run's result as text: its view (a held run: its approval view), and for a dry run the plan's changes. */
async function runResultText(app: App, result: SyncResult, withPlan: boolean): Promise<() => string> {
  const run = result.run;
  const view = run.status === 'awaiting_approval' ? buildApproval(run, await app.ops.heldDetails(run.id)) : buildRun(run, { details: true });
  return () => (withPlan && result.plan ? `${viewText(view)}\n\n${renderPlan(result.plan)}` : viewText(view));
}

const RUNNERS: { readonly [N in CommandName]?: Runner<N> } = {
  status: async (cx, c) => {
    const status = await cx.app.ops.status(c.connection);
    cx.print(status, text(buildStatus(status)));
  },
  health: async (cx, _c, o) => {
    const health = await cx.app.ops.health();
    cx.print(health, text(buildHealth(health, 0, null, Number.MAX_SAFE_INTEGER), !!o.all));
    cx.outcome('red', health.some((h) => h.status === 'red'));
  },
  sync: async (cx, c) => {
    const result = await cx.app.ops.sync({
      connection: c.connection,
      trigger: 'manual',
      actor: cx.actor,
      dryRun: c.dryRun,
      ...(c.full ? { full: true } : {}),
      groups: [...c.groups],
      ...(c.kind ? { kind: c.kind } : {}),
      onProgress: cx.json ? undefined : progressLine(cx.err),
    });
    if (cx.err.isTTY && !cx.json) cx.err.write('\r\x1b[2K');
    cx.print({ run: result.run, counts: result.counts, plan: c.dryRun ? result.plan : undefined }, cx.json ? () => '' : await runResultText(cx.app, result, c.dryRun));
    cx.outcome('run', result);
  },
  runs: async (cx, c, o) => {
    const runs = await cx.app.ops.runs(c.connection, o.limit as number, o.before as number | undefined);
    cx.print(runs, text(buildRuns(c.connection, runs, 0, runs.length)));
  },
  run: async (cx, c, o) => {
    const detail = await cx.app.ops.run(c.id, o.audit as number);
    cx.print(detail, text(buildRun(detail.run, { audit: { entries: detail.audit, total: detail.auditTotal } })));
  },
  conflicts: async (cx, c, o) => {
    const page = await cx.app.ops.conflicts(c.connection, o.offset as number, o.limit as number);
    cx.print(page, text(buildConflicts(cx.app.ops.connection(c.connection).name, page)));
  },
  duplicates: async (cx, c, o) => {
    const page = await cx.app.ops.duplicates(c.connection, o.offset as number, o.limit as number);
    cx.print(page, text(buildDuplicates(cx.app.ops.connection(c.connection).name, page)));
  },
  map: async (cx, c) => {
    const r = await cx.app.ops.map(c.user, c.local, cx.actor, connectionOf(c));
    cx.print(r, () => `${r.login ?? r.directoryId} (${r.connection}) → local user #${r.localUser.id} ${r.localUser.login ?? ''}; memberships follow at the next sync`);
  },
  ignore: async (cx, c) => {
    const r = await cx.app.ops.ignore(c.user, cx.actor, connectionOf(c));
    cx.print(r, () => `${r.login ?? r.directoryId} (${r.connection}): ${r.status}`);
  },
  unignore: async (cx, c) => {
    const r = await cx.app.ops.unignore(c.user, cx.actor, connectionOf(c));
    cx.print(r, () => `${r.login ?? r.directoryId} (${r.connection}): ${r.status}`);
  },
  link: async (cx, c) => {
    const r = await cx.app.ops.link(c.connection, c.group, cx.actor, c.kind ?? undefined);
    cx.print(r, () => `linked ${r.group.name} (${r.group.dn ?? r.group.id}) to ${r.connection} as ${r.kind}; synced from the next run`);
  },
  unlink: async (cx, c) => {
    const r = await cx.app.ops.unlink(c.connection, c.group, cx.actor);
    cx.print(r, () => `unlinked ${r.name} from ${r.connection}; local group and members kept; users in scope only through it are deactivated by the next sync`);
  },
  approve: async (cx, c) => {
    const result = await cx.app.ops.approve(c.runId, cx.actor);
    cx.print({ run: result.run, counts: result.counts }, cx.json ? () => '' : await runResultText(cx.app, result, false));
    cx.outcome('run', result);
  },
  incidents: async (cx, _c, o) => {
    const list = await cx.app.ops.incidents({ all: !!o.all, limit: o.limit as number });
    cx.print(list, () => renderIncidents(list));
  },
  reject: async (cx, c) => {
    const run = await cx.app.ops.reject(c.runId, cx.actor);
    cx.print(run, () => `run #${run.id} rejected by ${run.decidedBy}; nothing applied`);
  },
};

/** The terminal's own commands (grammar.ts CLI_ONLY). */
const CLI_RUNNERS: Readonly<Record<string, (cx: CliContext, args: readonly unknown[], o: CliOptions) => Promise<void>>> = {
  connections: async (cx) => {
    const list = cx.app.ops.listConnections().map((c) => ({ name: c.name, kind: c.kind, enabled: c.enabled }));
    cx.print(list, () => list.map((c) => `${c.name}\t${c.kind}\t${c.enabled ? 'enabled' : 'disabled'}`).join('\n'));
  },
  remove: async (cx, [connection], o) => {
    const r = await cx.app.ops.removeConnection(String(connection), cx.actor, !!o.confirm);
    cx.print(r, () =>
      `removed ${r.name}: ${r.removed?.links ?? 0} links, ${r.removed?.mappings ?? 0} mappings, ${r.removed?.runs ?? 0} runs` +
        (r.stillConfigured ? `\n"${r.name}" is still in the connections file: delete it there too, or it is registered again at the next start` : ''),
    );
  },
  duplicate: async (cx, [action, id]) => {
    const r = await cx.app.ops.resolveDuplicate(id as number, action as DuplicateAction, cx.actor);
    const into = r.localGroup ? ` into local group ${r.localGroup.name}` : '';
    cx.print(r, () => `duplicate #${r.id} ${r.name}: ${r.status}${r.status === 'linked' ? `${into} (synced from the next run)` : ''}`);
  },
};

/** A table command without a runner of its own: its chat handler, its view as text (JSON: the view). */
export async function viaChat(cx: CliContext, command: Command): Promise<void> {
  const { handleCommand } = await import('../chat/commands/handlers.ts');
  const ctx: ChatContext = {
    ops: cx.app.ops,
    db: cx.app.store.db,
    logger: silentLogger,
    now: () => new Date(),
    user: { surface: 'cli', id: cx.actor, aadObjectId: null, name: cx.actor },
    actor: cx.actor,
    conversation: null,
  };
  const reply = await handleCommand(ctx, command);
  let view = reply.view;
  // Work that goes on after the answer (a sync) updates it: the last view is the outcome.
  if (reply.followUp) await reply.followUp(async (next) => void (view = next));
  cx.print(view, text(view));
}

export async function runInvocation(cx: CliContext, invocation: Invocation): Promise<void> {
  if (invocation.kind === 'cli') {
    const runner = CLI_RUNNERS[invocation.name];
    if (!runner) throw new GroupsyncError('INVALID_ARGUMENT', `no command "${invocation.name}"`);
    return runner(cx, invocation.args, invocation.options);
  }
  const runner = RUNNERS[invocation.command.name] as Runner<CommandName> | undefined;
  return runner ? runner(cx, invocation.command, invocation.options) : viaChat(cx, invocation.command);
}

/** The progress line of a sync on stderr: rewritten in place on a terminal, a line per phase (and every 2 s) otherwise. */
export function progressLine(stream: NodeJS.WriteStream): (event: ProgressEvent) => void {
  let last = 0;
  let phase = '';
  return (event) => {
    const now = Date.now();
    const line = `run #${event.runId}: ${describeProgress(event)}`;
    if (stream.isTTY) {
      // One line, rewritten in place: cut to the terminal's width (a wrapped line could not be).
      stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, (stream.columns || 100) - 1))}`);
    } else if (now - last > 2000 || event.phase !== phase) {
      stream.write(`${line}\n`);
      last = now;
    }
    phase = event.phase;
  };
}
