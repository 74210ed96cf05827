/** Directory users: conflicts and unmapped users, finding users, map, ignore and unignore. */
import { dnKeyOf } from '../domain/dn.ts';
import { GroupsyncError } from '../errors.ts';
import { formatTime } from '../format.ts';
import { insertAudit } from '../store/audit.ts';
import type { Executor } from '../store/db.ts';
import { type LocalUserRow, type LocalUserSummary, describeLocalUsers, findLocalUsers, searchLocalUsers as searchLocalUserRows } from '../store/local-users.ts';
import { type MappingRow, decideMapping, findMappedTo, findMappings, listUnsynced, lockMapping as lockMappingRow } from '../store/mappings.ts';
import { removeFromLinkedGroups } from '../store/memberships.ts';
import { withTransaction } from '../store/transaction.ts';
import type { OpsContext, Page } from './context.ts';

export interface ConflictItem {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly status: 'conflict' | 'unmapped';
  readonly reason: string | null;
  /** Each local candidate with what an admin needs to choose: name, mail, active or not, last activity, where it is mapped. */
  readonly candidates: readonly LocalUserSummary[];
}

export async function conflicts(ctx: OpsContext, name: string, offset = 0, limit = 20): Promise<Page<ConflictItem>> {
  const config = ctx.engine.connection(name);
  const { rows, total } = await listUnsynced(ctx.db, config.name, offset, limit);
  const candidates = await describeLocalUsers(ctx.db, [...new Set(rows.flatMap((r) => r.candidates))]);
  const byId = new Map(candidates.map((c) => [c.id, c]));
  return {
    total,
    offset,
    limit,
    items: rows.map((r) => ({
      directoryId: r.directoryId,
      dn: r.dn,
      login: r.login,
      mail: r.mail,
      displayName: r.displayName,
      status: r.status as 'conflict' | 'unmapped',
      reason: r.reason,
      candidates: r.candidates.map((id) => byId.get(id) ?? { id, login: null, mail: null, displayName: null, active: false, lastActivityAt: null, mappedIn: [] }),
    })),
  };
}

/** Local users for a pick list (a typeahead): name, login or mail containing `text`, or `#id`; at most `limit` (≤ 50). */
export async function searchLocalUsers(ctx: OpsContext, text: string, limit = 20): Promise<LocalUserSummary[]> {
  if (!text.trim()) return [];
  return searchLocalUserRows(ctx.db, text.slice(0, 200), Math.min(Math.max(limit, 1), 50));
}

/** Finds a directory user known to the store by id, login, mail or DN; several matches are an error naming them. */
export async function findDirectoryUser(ctx: OpsContext, ref: string, connection?: string): Promise<MappingRow> {
  const conn = connection ? ctx.engine.connection(connection).name : null;
  // A DN is compared as a DN (escapes, case, spaces, RDN order), which SQL cannot do: the stored DNs
  // are compared here, the rest by the query.
  const key = dnKeyOf(ref);
  const rows = await findMappings(ctx.db, ref, conn, key === null ? null : (dn) => dnKeyOf(dn) === key, 11);
  if (rows.length === 0) {
    throw new GroupsyncError('NOT_FOUND', `no directory user "${ref}"${conn ? ` in "${conn}"` : ''} has been read yet; run a sync first, or check the spelling`);
  }
  if (rows.length > 1) {
    const list = rows.slice(0, 10).map((r) => `${r.connection}:${r.login ?? r.mail ?? r.directoryId} (${r.directoryId})`).join(', ');
    throw new GroupsyncError('AMBIGUOUS', `"${ref}" matches ${rows.length > 10 ? 'more than 10' : rows.length} directory users: ${list}; give the connection or the directory id`);
  }
  return rows[0]!;
}

export async function findLocalUser(ctx: OpsContext, ref: string): Promise<LocalUserRow> {
  const rows = await findLocalUsers(ctx.db, ref, 11);
  if (rows.length === 0) throw new GroupsyncError('NOT_FOUND', `no local user "${ref}"; give a local user id (#12), login or mail`);
  if (rows.length > 1) {
    throw new GroupsyncError('AMBIGUOUS', `"${ref}" matches ${rows.length} local users: ${rows.slice(0, 10).map((r) => `#${r.id} ${r.login ?? ''} ${r.mail ?? ''}`.trim()).join(', ')}; give the id (#N)`);
  }
  return rows[0]!;
}

/**
 * Maps a directory user to a local user. With `onlyIfPending` (a chat button), a user that is
 * no longer in conflict is not changed and the answer says who resolved it and when.
 */
export async function mapUser(ctx: OpsContext, userRef: string, localRef: string, actor: string, options: { connection?: string; onlyIfPending?: boolean } = {}) {
  const user = await findDirectoryUser(ctx, userRef, options.connection);
  const local = await findLocalUser(ctx, localRef);
  return withTransaction(ctx.db, async (tx) => {
    const current = await lockMapping(tx, user, options.onlyIfPending ?? false);
    if (current.status === 'mapped' && current.localUserId === local.id) {
      throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
    }
    const taken = await findMappedTo(tx, user.connection, local.id);
    if (taken && taken.directoryId !== user.directoryId) {
      throw new GroupsyncError('INVALID_STATE', `local user #${local.id} is already mapped to ${taken.login ?? taken.directoryId} in "${user.connection}"; unmap that user first (ignore it)`);
    }
    const now = ctx.now();
    await decideMapping(tx, user, { status: 'mapped', localUserId: local.id, reason: null }, actor, now);
    await insertAudit(tx, actor, user.connection, null, [
      {
        action: 'user.mapped',
        targetType: 'directory_user',
        targetId: user.directoryId,
        before: { status: current.status, localUserId: current.localUserId },
        after: { status: 'mapped', localUserId: local.id },
      },
    ]);
    return { connection: user.connection, directoryId: user.directoryId, login: user.login, localUser: { id: local.id, login: local.login, mail: local.mail } };
  });
}

export async function setIgnored(ctx: OpsContext, userRef: string, actor: string, ignored: boolean, options: { connection?: string; onlyIfPending?: boolean }) {
  const user = await findDirectoryUser(ctx, userRef, options.connection);
  return withTransaction(ctx.db, async (tx) => {
    const current = await lockMapping(tx, user, ignored && (options.onlyIfPending ?? false));
    if (ignored && current.status === 'ignored') throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
    if (!ignored && current.status !== 'ignored') {
      throw new GroupsyncError('INVALID_STATE', `${current.login ?? current.directoryId} is not ignored (it is ${current.status})`);
    }
    const now = ctx.now();
    const after = ignored
      ? { status: 'ignored' as const, localUserId: null, reason: 'ignored by an admin' }
      : { status: 'unmapped' as const, localUserId: null, reason: 'unignored; matched again at the next sync' };
    await decideMapping(tx, user, after, actor, now);
    // Ignoring a mapped user removes the mapping and its memberships in this connection's groups.
    let removedMemberships = 0;
    if (ignored && current.localUserId !== null) removedMemberships = await removeFromLinkedGroups(tx, current.localUserId, user.connection);
    await insertAudit(tx, actor, user.connection, null, [
      {
        action: ignored ? 'user.ignored' : 'user.unignored',
        targetType: 'directory_user',
        targetId: user.directoryId,
        before: { status: current.status, localUserId: current.localUserId },
        after: { status: after.status, localUserId: null, removedMemberships },
      },
    ]);
    return { connection: user.connection, directoryId: user.directoryId, login: user.login, status: after.status, removedMemberships };
  });
}

/**
 * A directory user's mapping, locked until the transaction ends. With `onlyIfPending` (a chat
 * button), one that is no longer in conflict or unmapped is refused, saying who resolved it and when.
 */
async function lockMapping(tx: Executor, user: { connection: string; directoryId: string }, onlyIfPending: boolean): Promise<MappingRow> {
  const current = await lockMappingRow(tx, user);
  if (!current) throw new GroupsyncError('NOT_FOUND', `directory user ${user.directoryId} vanished`);
  if (onlyIfPending && current.status !== 'conflict' && current.status !== 'unmapped') throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
  return current;
}

function alreadyResolved(m: MappingRow): string {
  const who = m.resolvedBy ? ` by ${m.resolvedBy} (${formatTime(m.resolvedAt)})` : ' by a sync';
  const what = m.status === 'mapped' ? `mapped to local user #${m.localUserId}` : m.status;
  return `${m.login ?? m.directoryId} was already resolved${who}: ${what}`;
}
