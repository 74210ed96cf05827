/** Group links and duplicates: link, unlink, list and resolve duplicates. */
import { refNames } from '../domain/dn.ts';
import type { LinkKind } from '../domain/types.ts';
import { GroupsyncError, clip, closestNames } from '../errors.ts';
import { formatTime } from '../format.ts';
import { insertAudit } from '../store/audit.ts';
import { type PendingDuplicate, insertSeparateLocalGroup, listPendingDuplicates, lockDuplicate, resolveDuplicateRow } from '../store/duplicates.ts';
import { findLink, findLinkOfLocalGroup, insertManualLink, linkToLocalGroup, listActiveLinks, listLinkNames, relinkManually, unlinkLink } from '../store/links.ts';
import { withTransaction } from '../store/transaction.ts';
import type { OpsContext, Page } from './context.ts';

export type DuplicateItem = PendingDuplicate;

export async function listDuplicates(ctx: OpsContext, name: string, offset = 0, limit = 20): Promise<Page<DuplicateItem>> {
  const config = ctx.engine.connection(name);
  const { items, total } = await listPendingDuplicates(ctx.db, config.name, offset, limit);
  return { total, offset, limit, items };
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
  if (!group) {
    // As `sync` does: the closest names groupsync knows of this directory (its linked and once-linked groups).
    const near = closestNames(groupRef, await listLinkNames(ctx.db, config.name));
    throw new GroupsyncError('DIRECTORY_NOT_FOUND', `no group "${clip(groupRef)}" in the directory of "${config.name}"${near.length ? `; closest: ${near.join(', ')}` : ''}`);
  }
  const linkKind = kind ?? config.linkKind;
  return withTransaction(ctx.db, async (tx) => {
    const existing = await findLink(tx, config.name, group.id);
    if (existing?.state === 'active') {
      throw new GroupsyncError('INVALID_STATE', `${group.name} is already linked to "${config.name}" (as ${existing.kind})`);
    }
    const now = ctx.now();
    if (existing) {
      await relinkManually(tx, existing.id, linkKind, now);
    } else {
      await insertManualLink(tx, { connection: config.name, directoryId: group.id, dn: group.dn, name: group.name, description: group.description, kind: linkKind }, now);
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
  const links = await listActiveLinks(ctx.db, config.name);
  const found = links.filter((l) => refNames(groupRef, l));
  if (found.length === 0) throw new GroupsyncError('NOT_FOUND', `"${groupRef}" is not linked to "${config.name}"`);
  if (found.length > 1) throw new GroupsyncError('AMBIGUOUS', `"${groupRef}" names ${found.length} linked groups: ${found.map((l) => l.dn ?? l.directoryId).join('; ')}; give the DN`);
  const link = found[0]!;
  return withTransaction(ctx.db, async (tx) => {
    await unlinkLink(tx, link.id, ctx.now());
    await insertAudit(tx, actor, config.name, null, [
      { action: 'link.removed', targetType: 'directory_group', targetId: link.directoryId, before: { state: 'active', localGroupId: link.localGroupId }, after: { state: 'unlinked' } },
    ]);
    return { connection: config.name, name: link.name, localGroupId: link.localGroupId };
  });
}

/** How an admin resolves a duplicate: link into the existing local group, sync as a separately named one, or ignore it. */
export type DuplicateAction = 'link' | 'separate' | 'ignore';

/**
 * Resolves a duplicate. `link` binds the directory group to the existing local group, unless
 * another connection's link feeds it (a local group has one source: memberships do not record
 * which connection added a member, so a second source's removals would remove the first one's
 * members). `separate` creates a local group of its own, "Sales (corp)", and links to it.
 * With `connection` (a button on that connection's list) a duplicate of another connection is
 * not found, so a button cannot act beyond the list it is on.
 */
export async function resolveDuplicate(ctx: OpsContext, id: number, action: DuplicateAction, actor: string, options: { connection?: string } = {}) {
  const expected = options.connection ? ctx.engine.connection(options.connection).name : null;
  return withTransaction(ctx.db, async (tx) => {
    const dup = await lockDuplicate(tx, id);
    if (!dup) throw new GroupsyncError('NOT_FOUND', `duplicate #${id} does not exist`);
    if (expected && dup.connection !== expected) throw new GroupsyncError('NOT_FOUND', `duplicate #${id} is not a duplicate of ${expected}; nothing was changed`);
    if (dup.status !== 'pending') {
      throw new GroupsyncError('INVALID_STATE', `duplicate #${id} (${dup.name}) was already ${dup.status === 'linked' ? 'linked' : 'ignored'} by ${dup.resolvedBy} (${formatTime(dup.resolvedAt)})`);
    }
    const config = ctx.engine.connection(dup.connection);
    const now = ctx.now();
    let localGroup: { id: number; name: string } | null = null;
    if (action === 'link') {
      if (dup.localGroupId === null) throw new GroupsyncError('INVALID_STATE', `the local group of duplicate #${id} no longer exists; ignore it and sync again`);
      const owner = await findLinkOfLocalGroup(tx, dup.localGroupId);
      if (owner) {
        throw new GroupsyncError(
          'INVALID_STATE',
          `local group ${dup.name} is fed by ${owner.connection} (${owner.name}); a local group has one source, so sync this one as a separate group ("separate") or ignore it`,
        );
      }
      localGroup = { id: dup.localGroupId, name: dup.name };
    } else if (action === 'separate') {
      localGroup = await insertSeparateLocalGroup(tx, dup.name, config.name, config.linkKind, now);
    }
    if (localGroup) await linkToLocalGroup(tx, { connection: config.name, directoryId: dup.directoryId, dn: dup.dn, name: dup.name, kind: config.linkKind, localGroupId: localGroup.id }, now);
    const status = action === 'ignore' ? 'ignored' : 'linked';
    await resolveDuplicateRow(tx, id, status, actor, now);
    await insertAudit(tx, actor, config.name, null, [
      {
        action: action === 'link' ? 'duplicate.linked' : action === 'separate' ? 'duplicate.separated' : 'duplicate.ignored',
        targetType: 'directory_group',
        targetId: dup.directoryId,
        before: { status: 'pending', localGroupId: dup.localGroupId },
        after: { status, localGroupId: localGroup?.id ?? dup.localGroupId, ...(action === 'separate' ? { localGroupName: localGroup!.name } : {}) },
      },
    ]);
    return { id, name: dup.name, connection: config.name, status, localGroup };
  });
}
