/** The read commands' handlers (users, audit, incidents, why) and the views their page buttons show again. */
import type { AuditQuery, UsersQuery } from '../../ops/operations.ts';
import { clampOffset } from '../views/format.ts';
import { READ_PAGE_SIZES, buildAudit, buildIncidents, buildUsers, buildWhy } from '../views/read.ts';
import type { NoticeView, View } from '../views/types.ts';
import { type ChatContext, type Reply, reply } from './context.ts';
import type { Command } from './spec.ts';

type Handler<N extends Command['name']> = (ctx: ChatContext, command: Extract<Command, { name: N }>) => Promise<Reply>;

/** A page of the connection's directory users; past the end, the last page. */
export async function usersView(ctx: ChatContext, connection: string, query: UsersQuery, offset = 0, n: NoticeView | null = null): Promise<View> {
  const size = READ_PAGE_SIZES.users;
  let page = await ctx.ops.users(connection, query, offset, size);
  if (!page.items.length && offset > 0 && page.total > 0) page = await ctx.ops.users(connection, query, clampOffset(offset, page.total, size), size);
  return buildUsers(page, query, n);
}

/** A page of the audit log; past the end, the last page. */
export async function auditView(ctx: ChatContext, query: AuditQuery, offset = 0, n: NoticeView | null = null): Promise<View> {
  const size = READ_PAGE_SIZES.audit;
  const q = { ...query, connection: query.connection ? ctx.ops.connection(query.connection).name : null };
  let page = await ctx.ops.audit(q, offset, size);
  if (!page.items.length && offset > 0 && page.total > 0) page = await ctx.ops.audit(q, clampOffset(offset, page.total, size), size);
  return buildAudit(page, q, n);
}

export async function incidentsView(ctx: ChatContext): Promise<View> {
  // Up to 100 are counted; the card shows the newest INCIDENTS_SHOWN.
  return buildIncidents(await ctx.ops.incidentsWithContext({ limit: 100 }));
}

export const readHandlers: { [N in 'users' | 'audit' | 'incidents' | 'why']: Handler<N> } = {
  users: async (ctx, c) => reply(await usersView(ctx, c.connection, { status: c.status, search: c.search }, (c.page - 1) * READ_PAGE_SIZES.users)),
  audit: async (ctx, c) => reply(await auditView(ctx, { connection: c.connection, user: c.user, group: c.group, actor: c.actor, since: c.since }, (c.page - 1) * READ_PAGE_SIZES.audit)),
  incidents: async (ctx) => reply(await incidentsView(ctx)),
  why: async (ctx, c) => reply(buildWhy(await ctx.ops.why(c.user, c.group, c.connection))),
};
