/** Group links and duplicates: link, unlink, list and resolve duplicates. */
import { and, eq, sql } from 'drizzle-orm';
import { refNames } from '../directory/ldap/dn.ts';
import type { LinkKind } from '../domain/types.ts';
import { GroupsyncError } from '../errors.ts';
import { queryRows } from '../store/db.ts';
import { duplicates, groupLinks } from '../store/schema.ts';
import { insertAudit } from '../store/audit.ts';
import { type OpsContext, type Page, p } from './context.ts';

export interface DuplicateItem {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly localGroupId: number | null;
  readonly localGroupName: string | null;
  readonly localMembers: number;
  readonly detectedAt: Date;
}

export async function listDuplicates(ctx: OpsContext, name: string, offset = 0, limit = 20): Promise<Page<DuplicateItem>> {
  const config = ctx.engine.connection(name);
  const rows = await queryRows<{
    id: number; directory_id: string; dn: string | null; name: string; local_group_id: number | null;
    local_name: string | null; members: number; detected_at: string | Date;
  }>(
    ctx.db,
    sql`select d.id, d.directory_id, d.dn, d.name, d.local_group_id, g.name as local_name,
               (select count(*) from memberships m where m.group_id = d.local_group_id)::int as members, d.detected_at
        from duplicates d left join local_groups g on g.id = d.local_group_id
        where d.connection = ${p(config.name)} and d.status = 'pending'
        order by d.name, d.id offset ${p(offset)} limit ${p(limit)}`,
  );
  const [total] = await queryRows<{ n: number }>(
    ctx.db,
    sql`select count(*)::int as n from duplicates where connection = ${p(config.name)} and status = 'pending'`,
  );
  return {
    total: total?.n ?? 0,
    offset,
    limit,
    items: rows.map((r) => ({
      id: r.id,
      directoryId: r.directory_id,
      dn: r.dn,
      name: r.name,
      localGroupId: r.local_group_id,
      localGroupName: r.local_name,
      localMembers: r.members,
      detectedAt: new Date(r.detected_at),
    })),
  };
}

/** Links a directory group (name, DN or id) to the connection; it is synced from the next run. */
export async function linkGroup(ctx: OpsContext, name: string, groupRef: string, actor: string, kind?: LinkKind) {
  const config = ctx.engine.connection(name);
  await ctx.engine.registerConnections();
  const source = ctx.createSource(config);
  let group;
  try {
    group = await source.findGroup(groupRef);
  } finally {
    await source.close();
  }
  if (!group) throw new GroupsyncError('DIRECTORY_NOT_FOUND', `no group "${groupRef}" in the directory of "${config.name}"`);
  const linkKind = kind ?? config.linkKind;
  return ctx.db.transaction(async (tx) => {
    const [existing] = await tx
      .select()
      .from(groupLinks)
      .where(and(eq(groupLinks.connection, config.name), eq(groupLinks.directoryId, group.id)));
    if (existing?.state === 'active') {
      throw new GroupsyncError('INVALID_STATE', `${group.name} is already linked to "${config.name}" (as ${existing.kind})`);
    }
    const now = ctx.now();
    if (existing) {
      await tx.update(groupLinks).set({ state: 'active', origin: 'manual', kind: linkKind, updatedAt: now }).where(eq(groupLinks.id, existing.id));
    } else {
      // Not synced yet: the link row waits for the next sync to create or find its local group.
      await tx.insert(groupLinks).values({
        createdAt: now,
        connection: config.name,
        directoryId: group.id,
        dn: group.dn,
        name: group.name,
        description: group.description,
        kind: linkKind,
        origin: 'manual',
        localGroupId: null,
      });
    }
    await insertAudit(tx, actor, config.name, null, [
      { action: 'link.created', targetType: 'directory_group', targetId: group.id, before: existing ? { state: existing.state } : null, after: { name: group.name, dn: group.dn, kind: linkKind } },
    ]);
    return { connection: config.name, group, kind: linkKind };
  });
}

/** Unlinks a group: it is no longer synced; its local group and memberships are kept as they are. */
export async function unlinkGroup(ctx: OpsContext, name: string, groupRef: string, actor: string) {
  const config = ctx.engine.connection(name);
  const links = await ctx.db.select().from(groupLinks).where(and(eq(groupLinks.connection, config.name), eq(groupLinks.state, 'active')));
  const found = links.filter((l) => refNames(groupRef, l));
  if (found.length === 0) throw new GroupsyncError('NOT_FOUND', `"${groupRef}" is not linked to "${config.name}"`);
  if (found.length > 1) throw new GroupsyncError('AMBIGUOUS', `"${groupRef}" names ${found.length} linked groups: ${found.map((l) => l.dn ?? l.directoryId).join('; ')}; give the DN`);
  const link = found[0]!;
  return ctx.db.transaction(async (tx) => {
    await tx.update(groupLinks).set({ state: 'unlinked', origin: 'manual', updatedAt: ctx.now() }).where(eq(groupLinks.id, link.id));
    await insertAudit(tx, actor, config.name, null, [
      { action: 'link.removed', targetType: 'directory_group', targetId: link.directoryId, before: { state: 'active', localGroupId: link.localGroupId }, after: { state: 'unlinked' } },
    ]);
    return { connection: config.name, name: link.name, localGroupId: link.localGroupId };
  });
}

/**
 * Resolves a duplicate: link the directory group to the existing local group, or ignore it.
 * With `connection` (a button on that connection's list) a duplicate of another connection is
 * not found, so a button cannot act beyond the list it is on.
 */
export async function resolveDuplicate(ctx: OpsContext, id: number, action: 'link' | 'ignore', actor: string, options: { connection?: string } = {}) {
  const expected = options.connection ? ctx.engine.connection(options.connection).name : null;
  return ctx.db.transaction(async (tx) => {
    const [dup] = await tx.select().from(duplicates).where(eq(duplicates.id, id)).for('update');
    if (!dup) throw new GroupsyncError('NOT_FOUND', `duplicate #${id} does not exist`);
    if (expected && dup.connection !== expected) throw new GroupsyncError('NOT_FOUND', `duplicate #${id} is not a duplicate of ${expected}; nothing was changed`);
    if (dup.status !== 'pending') {
      throw new GroupsyncError('INVALID_STATE', `duplicate #${id} (${dup.name}) was already ${dup.status === 'linked' ? 'linked' : 'ignored'} by ${dup.resolvedBy} at ${dup.resolvedAt?.toISOString()}`);
    }
    const config = ctx.engine.connection(dup.connection);
    const now = ctx.now();
    if (action === 'link') {
      if (dup.localGroupId === null) throw new GroupsyncError('INVALID_STATE', `the local group of duplicate #${id} no longer exists; ignore it and sync again`);
      const [owner] = await tx.select().from(groupLinks).where(and(eq(groupLinks.localGroupId, dup.localGroupId), eq(groupLinks.state, 'active')));
      if (owner) throw new GroupsyncError('INVALID_STATE', `local group ${dup.name} is already linked to ${owner.connection}:${owner.name}`);
      await tx
        .insert(groupLinks)
        .values({ createdAt: now, connection: config.name, directoryId: dup.directoryId, dn: dup.dn, name: dup.name, kind: config.linkKind, origin: 'manual', localGroupId: dup.localGroupId })
        .onConflictDoUpdate({ target: [groupLinks.connection, groupLinks.directoryId], set: { state: 'active', localGroupId: dup.localGroupId, updatedAt: now } });
    }
    await tx.update(duplicates).set({ status: action === 'link' ? 'linked' : 'ignored', resolvedBy: actor, resolvedAt: now }).where(eq(duplicates.id, id));
    await insertAudit(tx, actor, config.name, null, [
      { action: action === 'link' ? 'duplicate.linked' : 'duplicate.ignored', targetType: 'directory_group', targetId: dup.directoryId, before: { status: 'pending' }, after: { status: action === 'link' ? 'linked' : 'ignored', localGroupId: dup.localGroupId } },
    ]);
    return { id, name: dup.name, connection: config.name, status: action === 'link' ? 'linked' : 'ignored' };
  });
}
