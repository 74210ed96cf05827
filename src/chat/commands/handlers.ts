/**
 * One handler per command: (context, command) → reply with a neutral view. The handlers call the
 * operations layer, the same one the CLI uses, so chat and terminal behave alike; every change is
 * audited there with the chat user as actor.
 */
import { GroupsyncError, describeError, isGroupsyncError } from '../../errors.ts';
import type { Page } from '../../ops/operations.ts';
import type { RunRow } from '../../store/runs.ts';
import { setSubscription } from '../../store/conversations.ts';
import type { SyncRequest } from '../../sync/engine.ts';
import { alreadyRunningHere } from '../../sync/runner.ts';
import { buildConflicts, buildDuplicates, buildHealth, buildMessage, buildStatus } from '../views/build.ts';
import { buildHelp } from './help.ts';
import { PAGE_SIZES, clampOffset, displayActor, formatTime, notice } from '../views/format.ts';
import { buildApproval, buildProgress, buildRun, buildRuns } from '../views/runs.ts';
import type { ButtonView, NoticeView, View } from '../views/types.ts';
import { progressCard } from './progress-card.ts';
import { type ChatContext, type Reply, type UpdateView, reply } from './context.ts';
import { readHandlers } from './read-handlers.ts';
import type { Command } from './spec.ts';

type Handler<N extends Command['name']> = (ctx: ChatContext, command: Extract<Command, { name: N }>) => Promise<Reply>;

export async function healthView(ctx: ChatContext, offset = 0, n: NoticeView | null = null): Promise<View> {
  return buildHealth(await ctx.ops.health(), offset, n);
}

export async function statusView(ctx: ChatContext, connection: string, n: NoticeView | null = null): Promise<View> {
  return buildStatus(await ctx.ops.status(connection), n);
}

/**
 * A page of a list; when it is past the end (its last item was just resolved, or a button sent
 * any offset), the last page.
 */
async function pageOrLast<T>(load: (offset: number, limit: number) => Promise<Page<T>>, offset: number, size: number): Promise<Page<T>> {
  const page = await load(offset, size);
  return page.items.length || offset === 0 || page.total === 0 ? page : load(clampOffset(offset, page.total, size), size);
}

export async function conflictsView(ctx: ChatContext, connection: string, offset = 0, n: NoticeView | null = null): Promise<View> {
  const name = ctx.ops.connection(connection).name;
  return buildConflicts(name, await pageOrLast((o, l) => ctx.ops.conflicts(name, o, l), offset, PAGE_SIZES.conflicts), n);
}

export async function duplicatesView(ctx: ChatContext, connection: string, offset = 0, n: NoticeView | null = null): Promise<View> {
  const name = ctx.ops.connection(connection).name;
  return buildDuplicates(name, await pageOrLast((o, l) => ctx.ops.duplicates(name, o, l), offset, PAGE_SIZES.duplicates), n);
}

export async function runsView(ctx: ChatContext, connection: string, offset = 0, n: NoticeView | null = null): Promise<View> {
  const name = ctx.ops.connection(connection).name;
  const page = await pageOrLast((o, l) => ctx.ops.runsPage(name, o, l), offset, PAGE_SIZES.runs);
  return buildRuns(name, page.items, page.offset, page.total, n);
}

/** One run; a run held for approval shows as its approval card. */
export async function runView(ctx: ChatContext, id: number, options: { skippedOffset?: number; notice?: NoticeView | null; detail?: boolean } = {}): Promise<View> {
  const detail = await ctx.ops.run(id, PAGE_SIZES.audit);
  if (detail.run.status === 'awaiting_approval' && !options.detail) {
    return buildApproval(detail.run, await ctx.ops.heldDetails(id), options.notice ?? null);
  }
  return buildRun(detail.run, { audit: { entries: detail.audit, total: detail.auditTotal }, skippedOffset: options.skippedOffset ?? 0, notice: options.notice ?? null });
}

/**
 * Starts a sync and answers at once; the follow-up updates the same message with the run's
 * progress (progress-card.ts) and then with the result. A sync of the
 * connection this process already runs is answered "already running since …" at once.
 */
export function startSync(ctx: ChatContext, request: Omit<SyncRequest, 'trigger' | 'actor' | 'onProgress'>): Reply {
  const running = request.dryRun ? null : ctx.ops.runningSync(request.connection);
  if (running) return reply(syncNotStarted(request.connection, alreadyRunningHere(running)));
  const what = `${request.dryRun ? 'Dry run' : request.full ? 'Full sync' : 'Sync'} of ${request.connection}${request.groups?.length ? ` (${request.groups.join(', ')})` : ''}${request.kind ? ` [${request.kind}]` : ''}`;
  const ack = buildProgress(request.connection, null, `${what} requested by ${ctx.actor}: starting…`);
  return reply(ack, async (update: UpdateView) => {
    const card = progressCard(what, request.connection, update, ctx.logger);
    let result;
    try {
      result = await ctx.ops.sync({ ...request, trigger: 'chat', actor: ctx.actor, onProgress: card.onProgress });
    } catch (error) {
      await card.stop();
      await update(syncNotStarted(request.connection, error));
      return;
    }
    await card.stop();
    const run = result.run;
    await update(run.status === 'awaiting_approval' ? buildApproval(run, await ctx.ops.heldDetails(run.id)) : buildRun(run, { plan: result.plan }));
  });
}

/** Why a sync did not start: already running, a run awaiting approval (with a way to it), or an error. */
function syncNotStarted(connection: string, error: unknown): View {
  const status: ButtonView = { label: 'Status', verb: 'status.show', data: { connection } };
  if (isGroupsyncError(error, 'AWAITING_APPROVAL') && typeof error.details.runId === 'number') {
    const run = error.details.runId;
    return buildMessage('Awaiting approval', describeError(error), 'warning', [], [{ label: `Show run #${run}`, verb: 'run.show', data: { run } }, status]);
  }
  const running = isGroupsyncError(error, 'ALREADY_RUNNING');
  return buildMessage(running ? 'Already running' : 'Sync not started', describeError(error), running ? 'warning' : 'attention', [], [status]);
}

const handlers: { [N in Command['name']]: Handler<N> } = {
  help: async (_ctx, c) => reply(buildHelp(null, c.topic)),
  health: async (ctx) => reply(await healthView(ctx)),
  status: async (ctx, c) => reply(await statusView(ctx, c.connection)),
  sync: async (ctx, c) => {
    // A wrong name is answered at once, before anything is acknowledged.
    const known = ctx.ops.connection(c.connection);
    return startSync(ctx, { connection: known.name, dryRun: c.dryRun, ...(c.full ? { full: true } : {}), ...(c.groups.length ? { groups: c.groups } : {}), ...(c.kind ? { kind: c.kind } : {}) });
  },
  runs: async (ctx, c) => reply(await runsView(ctx, c.connection)),
  run: async (ctx, c) => reply(await runView(ctx, c.id, { detail: true })),
  conflicts: async (ctx, c) => reply(await conflictsView(ctx, c.connection)),
  duplicates: async (ctx, c) => reply(await duplicatesView(ctx, c.connection)),
  map: async (ctx, c) => {
    const r = await ctx.ops.map(c.user, c.local, ctx.actor, c.connection ? { connection: c.connection } : {});
    return reply(
      buildMessage('Mapped', `${r.login ?? r.directoryId} (${r.connection}) is now mapped to local user #${r.localUser.id} ${r.localUser.login ?? r.localUser.mail ?? ''}`.trim(), 'good', [
        { label: 'By', value: ctx.actor },
        { label: 'At', value: formatTime(ctx.now()) },
      ]),
    );
  },
  ignore: async (ctx, c) => {
    const r = await ctx.ops.ignore(c.user, ctx.actor, c.connection ? { connection: c.connection } : {});
    return reply(
      buildMessage('Ignored', `${r.login ?? r.directoryId} (${r.connection}) is skipped by every sync from now on${r.removedMemberships ? `; ${r.removedMemberships} memberships were removed` : ''}.`, 'good', [
        { label: 'Undo', value: `unignore ${r.login ?? r.directoryId}` },
      ]),
    );
  },
  unignore: async (ctx, c) => {
    const r = await ctx.ops.unignore(c.user, ctx.actor, c.connection ? { connection: c.connection } : {});
    return reply(buildMessage('Unignored', `${r.login ?? r.directoryId} (${r.connection}) is matched again at the next sync.`, 'good'));
  },
  link: async (ctx, c) => {
    const r = await ctx.ops.link(c.connection, c.group, ctx.actor, c.kind ?? undefined);
    return reply(
      buildMessage('Linked', `${r.group.name} is linked to ${r.connection} as ${r.kind}; it is synced from the next run.`, 'good', [{ label: 'Directory group', value: r.group.dn ?? r.group.id }], [
        { label: 'Sync now', verb: 'sync.start', data: { connection: r.connection } },
      ]),
    );
  },
  unlink: async (ctx, c) => {
    const r = await ctx.ops.unlink(c.connection, c.group, ctx.actor);
    return reply(buildMessage('Unlinked', `${r.name} is no longer synced from ${r.connection}; its local group and its members stay as they are. Users who were in scope only through it leave the scope: the next sync deactivates them (never deletes; the deletion guard counts them).`, 'good'));
  },
  approve: async (ctx, c) => reply(await decide(ctx, c.runId, 'approve')),
  reject: async (ctx, c) => reply(await decide(ctx, c.runId, 'reject')),
  ...readHandlers,
  pause: async (ctx, c) => {
    const r = await ctx.ops.pause(c.connection, ctx.actor);
    return reply(await statusView(ctx, r.connection, notice('warning', `Paused by ${ctx.actor}: no sync of ${r.connection} starts until "resume ${r.connection}".`)));
  },
  resume: async (ctx, c) => {
    const r = await ctx.ops.resume(c.connection, ctx.actor);
    const was = r.before ? ` (paused since ${formatTime(r.before.at)} by ${r.before.by})` : '';
    return reply(await statusView(ctx, r.connection, notice('good', `Resumed by ${ctx.actor}${was}: ${r.connection} syncs on its schedule again.`)));
  },
  subscribe: async (ctx) => reply(await subscribe(ctx, true)),
  unsubscribe: async (ctx) => reply(await subscribe(ctx, false)),
};

/** Approve or reject a held run. Deciding twice shows the decision already made, by whom and when. */
export async function decide(ctx: ChatContext, runId: number, decision: 'approve' | 'reject'): Promise<View> {
  try {
    if (decision === 'approve') {
      const result = await ctx.ops.approve(runId, ctx.actor);
      return buildRun(result.run, { notice: notice('good', `Approved by ${displayActor(ctx.actor)}; the held plan was applied (re-checked against the store).`) });
    }
    const run = await ctx.ops.reject(runId, ctx.actor);
    return buildApproval(run, await ctx.ops.heldDetails(runId), notice('default', `Rejected by ${displayActor(ctx.actor)}; nothing was applied.`));
  } catch (error) {
    if (!isGroupsyncError(error, 'INVALID_STATE')) throw error;
    const { run } = await ctx.ops.run(runId, 0);
    // Only a run that was held has an approval card; naming another one does nothing, and says so.
    if (!wasHeld(run)) throw new GroupsyncError('INVALID_ARGUMENT', `run #${runId} of ${run.connection} was never held for approval (it is ${run.status}); nothing was done`);
    return buildApproval(run, await ctx.ops.heldDetails(runId), notice('warning', describeError(error)));
  }
}

/** Held for approval now or once: awaiting a decision, decided, or stopped by the deletion guard. */
function wasHeld(run: RunRow): boolean {
  return run.status === 'awaiting_approval' || run.status === 'rejected' || run.decidedBy !== null || run.errorCode === 'THRESHOLD';
}

async function subscribe(ctx: ChatContext, on: boolean): Promise<View> {
  if (!ctx.conversation) throw new GroupsyncError('INVALID_ARGUMENT', 'this conversation cannot receive alerts (no conversation reference); use a channel or a personal chat');
  const { changed } = await setSubscription(ctx.db, ctx.conversation, on, ctx.actor, ctx.now());
  const text = on
    ? changed
      ? 'This conversation will get an alert card when a sync fails, a run waits for approval or a linked group turns red; the card is updated when it is resolved.'
      : 'This conversation was already subscribed to alerts.'
    : changed
      ? 'This conversation no longer gets alerts.'
      : 'This conversation was not subscribed to alerts.';
  return buildMessage(on ? 'Subscribed to alerts' : 'Unsubscribed from alerts', text, changed ? 'good' : 'default', [{ label: 'By', value: ctx.actor }]);
}

export function handleCommand(ctx: ChatContext, command: Command): Promise<Reply> {
  const handler = handlers[command.name] as Handler<Command['name']>;
  return handler(ctx, command);
}
