/**
 * Pause and resume a connection (`pause`/`resume`): a paused connection's scheduled runs are not
 * started and syncs that could apply are refused, in every process, until an admin resumes it.
 * Dry runs still run (they change nothing). Audited with the actor, before → after.
 */
import { GroupsyncError } from '../errors.ts';
import { insertAudit } from '../store/audit.ts';
import { type PauseState, lockPause, setPause } from '../store/pause.ts';
import { describePause } from '../sync/paused.ts';
import { withTransaction } from '../store/transaction.ts';
import type { OpsContext } from './context.ts';

export type { PauseState } from '../store/pause.ts';

export async function pauseConnection(ctx: OpsContext, name: string, actor: string) {
  return changePause(ctx, name, actor, true);
}

export async function resumeConnection(ctx: OpsContext, name: string, actor: string) {
  return changePause(ctx, name, actor, false);
}

async function changePause(ctx: OpsContext, name: string, actor: string, pause: boolean): Promise<{ connection: string; pause: PauseState | null; before: PauseState | null }> {
  const config = ctx.engine.connection(name);
  await ctx.engine.registerConnections();
  return withTransaction(ctx.db, async (tx) => {
    const before = await lockPause(tx, config.name);
    if (pause && before) throw new GroupsyncError('INVALID_STATE', `${describePause(config.name, before)}; nothing was changed`);
    if (!pause && !before) throw new GroupsyncError('INVALID_STATE', `"${config.name}" is not paused; nothing was changed`);
    const after = pause ? { at: ctx.now(), by: actor } : null;
    await setPause(tx, config.name, after);
    await insertAudit(tx, actor, config.name, null, [
      {
        action: pause ? 'connection.paused' : 'connection.resumed',
        targetType: 'connection',
        targetId: config.name,
        before: { paused: before !== null, ...(before ? { pausedAt: before.at.toISOString(), pausedBy: before.by } : {}) },
        after: { paused: after !== null, ...(after ? { pausedAt: after.at.toISOString(), pausedBy: after.by } : {}) },
      },
    ]);
    return { connection: config.name, pause: after, before };
  });
}
