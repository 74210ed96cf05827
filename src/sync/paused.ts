/** A paused connection (see ops/pause.ts): syncs that could apply are refused, saying since when, by whom and how to resume. */
import { GroupsyncError } from '../errors.ts';
import { formatTime } from '../format.ts';
import type { Executor } from '../store/db.ts';
import { type PauseState, getPause } from '../store/pause.ts';

/** `"corp" is paused since 2 h ago, 09:00 UTC by alice; resume with "resume corp"`. */
export function describePause(connection: string, pause: PauseState): string {
  return `"${connection}" is paused since ${formatTime(pause.at)} by ${pause.by}; resume with "resume ${connection}"`;
}

export async function refuseWhilePaused(db: Executor, connection: string): Promise<void> {
  const pause = await getPause(db, connection);
  if (pause) throw new GroupsyncError('INVALID_STATE', describePause(connection, pause), { details: { paused: true, pausedAt: pause.at.toISOString(), pausedBy: pause.by } });
}
