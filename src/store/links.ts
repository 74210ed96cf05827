/** Group links: which directory groups a connection syncs, and to which local group. */
import { and, eq, inArray } from 'drizzle-orm';
import type { LinkKind } from '../domain/types.ts';
import type { Executor } from './db.ts';
import { groupLinks } from './schema.ts';

export type GroupLinkRow = typeof groupLinks.$inferSelect;

/** A connection's link of a directory group, active or unlinked. */
export async function findLink(db: Executor, connection: string, directoryId: string): Promise<GroupLinkRow | null> {
  const [row] = await db
    .select()
    .from(groupLinks)
    .where(and(eq(groupLinks.connection, connection), eq(groupLinks.directoryId, directoryId)));
  return row ?? null;
}

export async function listActiveLinks(db: Executor, connection: string): Promise<GroupLinkRow[]> {
  return db.select().from(groupLinks).where(and(eq(groupLinks.connection, connection), eq(groupLinks.state, 'active')));
}

/** The directory ids of a connection's active links made by hand (not by its group filter or list), in link order. */
export async function listManualLinkIds(db: Executor, connection: string): Promise<string[]> {
  const rows = await db
    .select({ directoryId: groupLinks.directoryId })
    .from(groupLinks)
    .where(and(eq(groupLinks.connection, connection), eq(groupLinks.state, 'active'), eq(groupLinks.origin, 'manual')))
    .orderBy(groupLinks.id);
  return rows.map((r) => r.directoryId);
}

/** The names of the groups ever linked to a connection (active or not), for "closest" answers. */
export async function listLinkNames(db: Executor, connection: string): Promise<string[]> {
  const rows = await db.select({ name: groupLinks.name }).from(groupLinks).where(eq(groupLinks.connection, connection));
  return rows.map((r) => r.name);
}

/** The active link (of any connection) that owns a local group, if any. */
export async function findLinkOfLocalGroup(db: Executor, localGroupId: number): Promise<GroupLinkRow | null> {
  const [row] = await db.select().from(groupLinks).where(and(eq(groupLinks.localGroupId, localGroupId), eq(groupLinks.state, 'active')));
  return row ?? null;
}

/** An unlinked link made active again by an admin, with the kind asked for. */
export async function relinkManually(db: Executor, id: number, kind: LinkKind, now: Date): Promise<void> {
  await db.update(groupLinks).set({ state: 'active', origin: 'manual', kind, updatedAt: now }).where(eq(groupLinks.id, id));
}

export interface ManualLink {
  readonly connection: string;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly description: string | null;
  readonly kind: LinkKind;
}

/** A link made by an admin, not synced yet: it waits for the next sync to create or find its local group. */
export async function insertManualLink(db: Executor, link: ManualLink, now: Date): Promise<void> {
  await db.insert(groupLinks).values({ createdAt: now, ...link, origin: 'manual', localGroupId: null });
}

/** Links a directory group to an existing local group (a resolved duplicate); an unlinked link is made active again. */
export async function linkToLocalGroup(db: Executor, link: Omit<ManualLink, 'description'> & { localGroupId: number }, now: Date): Promise<void> {
  await db
    .insert(groupLinks)
    .values({ createdAt: now, ...link, origin: 'manual' })
    .onConflictDoUpdate({ target: [groupLinks.connection, groupLinks.directoryId], set: { state: 'active', localGroupId: link.localGroupId, updatedAt: now } });
}

/** Unlinks: the group is no longer synced; its local group and memberships stay. */
export async function unlinkLink(db: Executor, id: number, now: Date): Promise<void> {
  await db.update(groupLinks).set({ state: 'unlinked', origin: 'manual', updatedAt: now }).where(eq(groupLinks.id, id));
}

/** Records when the links of a partial-scope run were last synced. */
export async function markLinksSynced(db: Executor, ids: readonly number[], now: Date): Promise<void> {
  if (!ids.length) return;
  await db.update(groupLinks).set({ lastSyncedAt: now }).where(inArray(groupLinks.id, [...ids]));
}
