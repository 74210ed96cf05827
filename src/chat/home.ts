/**
 * The Home view of one chat user: their role decides what it shows (chat/views/home.ts); the data
 * is read from the operations layer. Surfaces publish it (Slack: views.publish, slack/home.ts).
 */
import { isGroupsyncError } from '../errors.ts';
import type { Operations } from '../ops/operations.ts';
import type { Authorizer, ChatUser } from './auth.ts';
import { type HomeRole, type HomeView, buildHome } from './views/home.ts';
import type { NoticeView } from './views/types.ts';

async function roleOf(auth: Authorizer, user: ChatUser): Promise<HomeRole> {
  const has = async (role: 'admin' | 'viewer') => {
    try {
      await auth.require(user, role, 'The home');
      return true;
    } catch (error) {
      if (isGroupsyncError(error, 'FORBIDDEN')) return false;
      throw error;
    }
  };
  if (await has('admin')) return 'admin';
  return (await has('viewer')) ? 'viewer' : 'none';
}

export async function loadHome(deps: { ops: Operations; auth: Authorizer; now: () => Date }, user: ChatUser, notice: NoticeView | null = null): Promise<HomeView> {
  const { ops } = deps;
  const role = await roleOf(deps.auth, user);
  if (role === 'none') return buildHome({ role, userId: user.id, now: deps.now(), notice });
  const health = await ops.health();
  if (role === 'viewer') return buildHome({ role, userId: user.id, now: deps.now(), notice, health });
  const heldIds = health.flatMap((c) => c.reasons.flatMap((r) => (r.code === 'awaiting_approval' ? [r.runId] : [])));
  const held = await Promise.all(heldIds.map(async (id) => ({ run: (await ops.run(id, 0)).run, held: await ops.heldDetails(id) })));
  const statuses = await Promise.all(ops.listConnections().map((c) => ops.status(c.name)));
  const incidents = await ops.incidentsWithContext({ limit: 50 });
  return buildHome({ role, userId: user.id, now: deps.now(), notice, health, held: held.filter((h) => h.run.status === 'awaiting_approval'), statuses, incidents });
}
