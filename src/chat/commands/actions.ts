/**
 * Buttons. A click comes back as (verb, data) from either surface; the data is validated like
 * typed input (a client can send anything). Each handler acts once and returns the current state
 * of the card: a second click on a resolved conflict shows who resolved it and when.
 */
import { z } from 'zod';
import { describeError, isGroupsyncError } from '../../errors.ts';
import { displayText, notice } from '../views/format.ts';
import type { Reply } from './context.ts';
import { type ChatContext, reply } from './context.ts';
import { conflictsView, decide, duplicatesView, healthView, runView, runsView, startSync, statusView } from './handlers.ts';
import { READ_SCHEMAS, READ_VERB_ROLES, READ_VERB_TITLES, isReadVerb, readAction } from './read-actions.ts';
import { UsageError } from './spec.ts';
import type { Role } from './spec.ts';

const name = z.string().min(1).max(64);
const id = z.coerce.number().int().min(1).max(2 ** 31 - 1);
const offset = z.coerce.number().int().min(0).max(10_000_000).default(0);

const schemas = {
  page: z.object({ view: z.enum(['health', 'conflicts', 'duplicates', 'runs', 'run.skipped']), connection: name.optional(), run: id.optional(), offset }),
  'status.show': z.object({ connection: name }),
  'conflicts.show': z.object({ connection: name }),
  'duplicates.show': z.object({ connection: name }),
  'runs.show': z.object({ connection: name }),
  'run.show': z.object({ run: id }),
  /** `full: 1`: read the directory in full (the status card's "Full resync"), as `sync CONNECTION --full`. */
  'sync.start': z.object({ connection: name, full: z.literal(1).optional() }),
  'conflict.map': z.object({ connection: name, user: z.string().min(1).max(512), local: id, offset }),
  'conflict.ignore': z.object({ connection: name, user: z.string().min(1).max(512), offset }),
  'duplicate.link': z.object({ connection: name, id, offset }),
  'duplicate.ignore': z.object({ connection: name, id, offset }),
  'duplicate.separate': z.object({ connection: name, id, offset }),
  'run.approve': z.object({ run: id }),
  'run.reject': z.object({ run: id }),
  ...READ_SCHEMAS,
} as const;

export type Verb = keyof typeof schemas;
export const VERBS = Object.keys(schemas) as Verb[];

/** The role a button needs: anything that changes something is for admins. */
export const VERB_ROLES: Record<Verb, Role> = {
  page: 'viewer',
  'status.show': 'viewer',
  'conflicts.show': 'viewer',
  'duplicates.show': 'viewer',
  'runs.show': 'viewer',
  'run.show': 'viewer',
  'sync.start': 'admin',
  'conflict.map': 'admin',
  'conflict.ignore': 'admin',
  'duplicate.link': 'admin',
  'duplicate.ignore': 'admin',
  'duplicate.separate': 'admin',
  'run.approve': 'admin',
  'run.reject': 'admin',
  ...READ_VERB_ROLES,
};

export const VERB_TITLES: Record<Verb, string> = {
  page: 'Turning the page',
  'status.show': 'Showing the status',
  'conflicts.show': 'Showing the conflicts',
  'duplicates.show': 'Showing the duplicates',
  'runs.show': 'Showing the runs',
  'run.show': 'Showing a run',
  'sync.start': 'Starting a sync',
  'conflict.map': 'Mapping a user',
  'conflict.ignore': 'Ignoring a user',
  'duplicate.link': 'Linking a duplicate group',
  'duplicate.ignore': 'Ignoring a duplicate group',
  'duplicate.separate': 'Syncing a duplicate group under a name of its own',
  'run.approve': 'Approving a run',
  'run.reject': 'Rejecting a run',
  ...READ_VERB_TITLES,
};

export function isVerb(verb: string): verb is Verb {
  return Object.hasOwn(schemas, verb);
}

export function parseAction<V extends Verb>(verb: V, data: unknown): z.infer<(typeof schemas)[V]> {
  return validated(verb, schemas[verb] as z.ZodType, data) as z.infer<(typeof schemas)[V]>;
}

function validated<T>(verb: string, schema: z.ZodType<T>, data: unknown): T {
  const parsed = schema.safeParse(data ?? {});
  if (!parsed.success) throw new UsageError(`the "${verb}" button sent data I cannot use (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}); ask for a fresh card`, null);
  return parsed.data;
}

/** A conflict or duplicate button: act, then show the same page with what happened on top. */
async function resolveThenShow(ctx: ChatContext, act: () => Promise<string>, show: (text: string, tone: 'good' | 'warning') => Promise<Reply>): Promise<Reply> {
  try {
    return await show(await act(), 'good');
  } catch (error) {
    // Resolved meanwhile (another admin, a sync, a second click): the card shows who and when.
    if (isGroupsyncError(error, 'INVALID_STATE')) return show(describeError(error), 'warning');
    throw error;
  }
}

/** "Sync now" and "Full resync": the same path as the typed `sync CONNECTION [--full]`. */
function syncFromButton(ctx: ChatContext, d: { connection: string; full?: 1 | undefined }): Reply {
  return startSync(ctx, { connection: ctx.ops.connection(d.connection).name, ...(d.full ? { full: true } : {}) });
}

/**
 * Buttons that show another object (a status, a run, a list) answer in a new message: a card
 * shared in a channel stays as everyone saw it. Only paging and a state change of the card's own
 * object (approve, reject, resolve a conflict or a duplicate) update the card in place.
 */
const OPENS_NEW_MESSAGE: ReadonlySet<Verb> = new Set(['status.show', 'conflicts.show', 'duplicates.show', 'runs.show', 'run.show']);
/**
 * A choice from a search list (a PickView): the surface sends the list's data with `pickField`,
 * the key the choice goes to, and the choice itself in that key (Slack) or in the input named by
 * `pickInput` (Teams sends every input of the card). No choice: the key stays empty and the
 * button's data is refused like any other incomplete data.
 */
export function withPick(raw: unknown): unknown {
  if (!raw || typeof raw !== 'object') return raw;
  const { pickInput, pickField, ...rest } = raw as Record<string, unknown>;
  if (typeof pickField !== 'string' || !/^[a-z]+$/.test(pickField)) return raw;
  const chosen = typeof pickInput === 'string' ? rest[pickInput] : rest[pickField];
  return { ...rest, [pickField]: chosen === '' ? undefined : chosen };
}

/** Local users for a search list, as (title, value) pairs: "Name (login) · mail · inactive", "#id". */
export async function searchChoices(ctx: ChatContext, dataset: string, text: string): Promise<Array<{ title: string; value: string }>> {
  if (dataset !== 'localUsers') throw new UsageError(`there is no search "${dataset.slice(0, 40)}"; ask for a fresh card`, null);
  const users = await ctx.ops.searchLocalUsers(text, 20);
  return users.map((u) => {
    const name = u.displayName ?? u.login ?? u.mail ?? `#${u.id}`;
    const parts = [`#${u.id} ${name}${u.login && u.login !== name ? ` (${u.login})` : ''}`, ...(u.mail && u.mail !== name ? [u.mail] : []), ...(u.active ? [] : ['inactive'])];
    // Names come from the directory: shown as cards show them (a bidi override made visible).
    return { title: displayText(parts.join(' · ')), value: String(u.id) };
  });
}

export async function handleAction(ctx: ChatContext, verb: Verb, raw: unknown): Promise<Reply> {
  const reply = await act(ctx, verb, withPick(raw));
  // Buttons on an alert answer in a new message; the alert card is left to its incident.
  const fromAlert = (raw as { origin?: unknown } | null)?.origin === 'alert';
  return (fromAlert || OPENS_NEW_MESSAGE.has(verb)) && reply.replace ? { ...reply, asNewMessage: true } : reply;
}

async function act(ctx: ChatContext, verb: Verb, raw: unknown): Promise<Reply> {
  if (isReadVerb(verb)) return readAction(ctx, verb, (schema) => validated(verb, schema, raw));
  switch (verb) {
    case 'page': {
      const d = parseAction('page', raw);
      const need = (v: string | undefined) => {
        if (!v) throw new UsageError(`the page button of "${d.view}" has no connection; ask for a fresh card`, null);
        return v;
      };
      if (d.view === 'health') return reply(await healthView(ctx, d.offset));
      if (d.view === 'conflicts') return reply(await conflictsView(ctx, need(d.connection), d.offset));
      if (d.view === 'duplicates') return reply(await duplicatesView(ctx, need(d.connection), d.offset));
      if (d.view === 'runs') return reply(await runsView(ctx, need(d.connection), d.offset));
      if (!d.run) throw new UsageError('the page button has no run; ask for a fresh card', null);
      return reply(await runView(ctx, d.run, { skippedOffset: d.offset, detail: true }));
    }
    case 'status.show':
      return reply(await statusView(ctx, parseAction(verb, raw).connection));
    case 'conflicts.show':
      return reply(await conflictsView(ctx, parseAction(verb, raw).connection));
    case 'duplicates.show':
      return reply(await duplicatesView(ctx, parseAction(verb, raw).connection));
    case 'runs.show':
      return reply(await runsView(ctx, parseAction(verb, raw).connection));
    case 'run.show':
      return reply(await runView(ctx, parseAction(verb, raw).run, { detail: true }));
    case 'sync.start':
      return { ...syncFromButton(ctx, parseAction(verb, raw)), asNewMessage: true };
    case 'conflict.map': {
      const d = parseAction(verb, raw);
      return resolveThenShow(
        ctx,
        async () => {
          const r = await ctx.ops.map(d.user, `#${d.local}`, ctx.actor, { connection: d.connection, onlyIfPending: true });
          return `${r.login ?? r.directoryId} mapped to local user #${r.localUser.id} ${r.localUser.login ?? r.localUser.mail ?? ''} by ${ctx.actor}`.replace(/\s+by/, ' by');
        },
        async (text, tone) => reply(await conflictsView(ctx, d.connection, d.offset, notice(tone, text))),
      );
    }
    case 'conflict.ignore': {
      const d = parseAction(verb, raw);
      return resolveThenShow(
        ctx,
        async () => {
          const r = await ctx.ops.ignore(d.user, ctx.actor, { connection: d.connection, onlyIfPending: true });
          return `${r.login ?? r.directoryId} is ignored from now on (by ${ctx.actor}); undo with "unignore ${r.login ?? r.directoryId}"`;
        },
        async (text, tone) => reply(await conflictsView(ctx, d.connection, d.offset, notice(tone, text))),
      );
    }
    case 'duplicate.link':
    case 'duplicate.separate':
    case 'duplicate.ignore': {
      const d = parseAction(verb, raw);
      const action = verb === 'duplicate.link' ? 'link' : verb === 'duplicate.separate' ? 'separate' : 'ignore';
      return resolveThenShow(
        ctx,
        async () => {
          const r = await ctx.ops.resolveDuplicate(d.id, action, ctx.actor, { connection: d.connection });
          if (action === 'ignore') return `${r.name} is ignored (by ${ctx.actor})`;
          const into = action === 'link' ? 'the existing local group' : `a local group of its own, "${r.localGroup!.name}",`;
          return `${r.name} is linked to ${into} by ${ctx.actor}; it is synced from the next run`;
        },
        async (text, tone) => reply(await duplicatesView(ctx, d.connection, d.offset, notice(tone, text))),
      );
    }
    case 'run.approve':
      return reply(await decide(ctx, parseAction(verb, raw).run, 'approve'));
    case 'run.reject':
      return reply(await decide(ctx, parseAction(verb, raw).run, 'reject'));
  }
}
