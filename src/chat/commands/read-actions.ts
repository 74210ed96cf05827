/** The page buttons of the read commands' views: the filter comes back with the offset, validated like typed input. */
import { z } from 'zod';
import { USER_STATUSES } from '../../domain/user-status.ts';
import type { Role } from './spec.ts';
import { type ChatContext, type Reply, reply } from './context.ts';
import { auditView, usersView } from './read-handlers.ts';

const name = z.string().min(1).max(64);
const ref = z.string().min(1).max(512).optional();
const offset = z.coerce.number().int().min(0).max(10_000_000).default(0);

export const READ_SCHEMAS = {
  'users.page': z.object({ connection: name, status: z.enum(USER_STATUSES).optional(), search: ref, offset }),
  'audit.page': z.object({ connection: name.optional(), user: ref, group: ref, actor: ref, since: z.string().min(1).max(40).optional(), offset }),
} as const;

export type ReadVerb = keyof typeof READ_SCHEMAS;

export const READ_VERB_ROLES: Record<ReadVerb, Role> = { 'users.page': 'viewer', 'audit.page': 'viewer' };
export const READ_VERB_TITLES: Record<ReadVerb, string> = { 'users.page': 'Turning the page of users', 'audit.page': 'Turning the page of the audit log' };

export function isReadVerb(verb: string): verb is ReadVerb {
  return Object.hasOwn(READ_SCHEMAS, verb);
}

/** `parse`: the caller's validation (it names the verb in a refusal). */
export async function readAction(ctx: ChatContext, verb: ReadVerb, parse: <T>(schema: z.ZodType<T>) => T): Promise<Reply> {
  if (verb === 'users.page') {
    const d = parse(READ_SCHEMAS['users.page']);
    return reply(await usersView(ctx, d.connection, { status: d.status ?? null, search: d.search ?? null }, d.offset));
  }
  const d = parse(READ_SCHEMAS['audit.page']);
  return reply(await auditView(ctx, { connection: d.connection ?? null, user: d.user ?? null, group: d.group ?? null, actor: d.actor ?? null, since: d.since ?? null }, d.offset));
}
