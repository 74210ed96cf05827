/**
 * Incremental reads with Graph delta queries.
 *
 * Design. The planner needs a complete snapshot of the scope (it deletes groups and deactivates
 * users that are missing from it), and a delta query only says what changed. So the source keeps,
 * per connection, the directory model as last read (linked groups → users and nested groups
 * reached; the users' properties), compressed (model-codec.ts), next to the two delta links; the
 * engine stores them only with a run that applied (never after a failed, held, dry or
 * partial-scope run). A delta read then:
 *   1. follows the users delta link: changed users get their new properties, deleted ones
 *      (`@removed`) become tombstones (out of scope, as a deleted LDAP entry; back if restored);
 *   2. follows the groups delta link: the ids of groups whose properties or members changed;
 *   3. lists the linked groups again (the scope filter and explicit ids: cheap, and the only
 *      way to see a group newly matching or no longer matching the filter);
 *   4. patches a changed linked group that has no nested group from its `members@delta` (users
 *      added and removed: its direct members are all its members; users it gains that the model
 *      does not know are read by id, twenty to a JSON batch: batch.ts), and reads again, in full, the transitive members of every
 *      linked group that is new, has a changed group nested in it (known from the model), or
 *      changed in a way a patch cannot follow (no member list, a group added as member); the
 *      other groups keep theirs.
 * The snapshot is built from that model: as complete as a full read. Anything it cannot vouch
 * for falls back to a full read, recorded on the run: no stored state, another scope, a users
 * filter (whose matches a delta cannot tell), or an expired or invalid delta link
 * (`syncStateNotFound`, 410 Gone).
 *
 * Delta links are taken (`$deltatoken=latest`) before a full read starts, so a change made
 * during the read is reported again by the next delta, never lost.
 */
import { createHash } from 'node:crypto';
import type { DirectoryGroupRef, DirectoryState, ReadProgress, ReadScope } from '../../domain/types.ts';
import { type GraphHttp, deltaExpiredReason } from './client.ts';
import { type ReadOptions, readGroupsInto, readLinkedGroups, readUsers } from './read.ts';
import {
  type DirectoryModel,
  type GraphObject,
  type GroupRecord,
  USER_SELECT,
  mergeUserChange,
  objectKind,
  pruneUsers,
} from './transform.ts';

export const CURSOR_VERSION = 1;

export interface DeltaCursor {
  readonly version: number;
  readonly scopeKey: string;
  readonly usersDeltaLink: string;
  readonly groupsDeltaLink: string;
  readonly readMode: 'full' | 'delta';
  readonly readAt: string;
  /** The linked groups as last read (linkedDigest); absent in a cursor kept before it was. */
  readonly linked?: string;
}

export interface DeltaLinks {
  readonly usersDeltaLink: string;
  readonly groupsDeltaLink: string;
}

/** Thrown when Graph no longer accepts a delta link; the caller reads in full. */
export class DeltaExpiredError extends Error {
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`the delta link is no longer valid (${reason})`, options);
    this.name = 'DeltaExpiredError';
    this.reason = reason;
  }
}

const USERS_DELTA = `/users/delta?$select=${USER_SELECT.join(',')}`;
const GROUPS_DELTA = '/groups/delta?$select=displayName,description,members';

async function lastDeltaLink(graph: GraphHttp, url: string, onItem?: (item: GraphObject) => void): Promise<string> {
  let link: string | null = null;
  for await (const page of graph.pages<GraphObject>(url)) {
    if (onItem) for (const item of page.value) onItem(item);
    link = page.deltaLink ?? link;
  }
  if (!link) throw new Error(`Graph ended ${url.split('?')[0]} without an @odata.deltaLink`);
  return link;
}

/** Delta links that start now, without enumerating the directory. */
export async function latestDeltaLinks(graph: GraphHttp): Promise<DeltaLinks> {
  // One after the other: the first one fetches the token the second one finds cached.
  const usersDeltaLink = await lastDeltaLink(graph, `${USERS_DELTA}&$deltatoken=latest`);
  const groupsDeltaLink = await lastDeltaLink(graph, `${GROUPS_DELTA}&$deltatoken=latest`);
  return { usersDeltaLink, groupsDeltaLink };
}

/**
 * One digest of the linked groups' ids, names and descriptions, in any order: the linked groups a
 * listing finds are the ones last read when it is the same.
 */
export function linkedDigest(groups: Iterable<Pick<GroupRecord, 'id' | 'name' | 'description'>>): string {
  const lines = [...groups].map((g) => JSON.stringify([g.id, g.name, g.description])).sort();
  return createHash('sha256').update(lines.join('\n')).digest('base64url');
}

/** One member added to or removed from a group, from `members@delta`. */
export interface MemberChange {
  readonly id: string;
  readonly kind: 'user' | 'group' | 'other';
  readonly removed: boolean;
}

export interface Changes {
  readonly users: Map<string, GraphObject>;
  /** Changed groups: their member changes in order, or null when Graph listed none. */
  readonly groups: Map<string, MemberChange[] | null>;
  readonly links: DeltaLinks;
}

/** Follows both delta links to their ends. An expired link throws DeltaExpiredError. */
export async function readChanges(graph: GraphHttp, cursor: DeltaCursor): Promise<Changes> {
  const users = new Map<string, GraphObject>();
  const groups = new Map<string, MemberChange[] | null>();
  try {
    const usersDeltaLink = await lastDeltaLink(graph, cursor.usersDeltaLink, (item) => {
      const id = item.id.toLowerCase();
      // Several pages may report one user: merge, the latest wins.
      users.set(id, { ...(users.get(id) ?? {}), ...item });
    });
    const groupsDeltaLink = await lastDeltaLink(graph, cursor.groupsDeltaLink, (item) => {
      const id = item.id.toLowerCase();
      // A group with many member changes comes back on several pages, each with part of them.
      const members = memberChanges(item);
      const known = groups.get(id);
      groups.set(id, members === null ? (known ?? null) : [...(known ?? []), ...members]);
    });
    return { users, groups, links: { usersDeltaLink, groupsDeltaLink } };
  } catch (error) {
    const reason = deltaExpiredReason(error);
    if (reason) throw new DeltaExpiredError(reason, { cause: error });
    throw error;
  }
}

function memberChanges(item: GraphObject): MemberChange[] | null {
  const list = item['members@delta'];
  if (!Array.isArray(list)) return null;
  return list.map((raw) => {
    const m = raw as GraphObject;
    return { id: m.id.toLowerCase(), kind: objectKind(m), removed: m['@removed'] !== undefined };
  });
}

/**
 * A linked group's new users from its member changes alone, or null when it must be read again:
 * only a group without nested groups, whose changes are all users, is patched (its direct
 * members are then all its members).
 */
export function patchMembers(group: GroupRecord, changes: readonly MemberChange[] | null | undefined): string[] | null {
  if (!changes || changes.length === 0 || group.nestedGroupIds.length > 0) return null;
  if (changes.some((c) => c.kind !== 'user')) return null;
  const members = new Set(group.userIds);
  for (const c of changes) {
    if (c.removed) members.delete(c.id);
    else members.add(c.id);
  }
  return [...members];
}

/** What a delta read found before it needs the kept directory: the changes, and the linked groups if it listed them. */
export interface Found {
  readonly changes: Changes;
  readonly linked: Map<string, DirectoryGroupRef> | null;
}

/**
 * Follows the delta links; when they report no change, lists the linked groups too (a filter may
 * name a property the groups delta does not report). `unchanged`: the directory is as the cursor's
 * read left it, and the kept directory need not be read at all.
 */
export async function findChanges(graph: GraphHttp, cursor: DeltaCursor, scope: ReadScope, options: ReadOptions): Promise<Found & { unchanged: boolean }> {
  const changes = await readChanges(graph, cursor);
  if (changes.users.size > 0 || changes.groups.size > 0 || cursor.linked === undefined) return { changes, linked: null, unchanged: false };
  const linked = await readLinkedGroups(graph, scope, options.pageSize, options.concurrency);
  return { changes, linked, unchanged: linkedDigest(linked.values()) === cursor.linked };
}

export interface DeltaResult {
  readonly model: DirectoryModel;
  readonly links: DeltaLinks;
  readonly stats: { usersChanged: number; usersRemoved: number; groupsChanged: number; groupsPatched: number; groupsReread: number; groupsDropped: number; usersFetched: number };
}

/** Applies the changes to the last model, reading again only the groups they touch. `found`: what findChanges read already. */
export async function readDelta(
  graph: GraphHttp,
  cursor: DeltaCursor,
  previous: DirectoryModel,
  scope: ReadScope,
  options: ReadOptions,
  onProgress?: (progress: ReadProgress) => void,
  found: Found | null = null,
): Promise<DeltaResult> {
  const changes = found?.changes ?? (await readChanges(graph, cursor));
  const model: DirectoryModel = { groups: new Map(previous.groups), users: new Map(previous.users) };

  let usersRemoved = 0;
  for (const [id, item] of changes.users) {
    const known = model.users.get(id);
    if (!known) continue; // not reached by a linked group; a membership change shows on the groups side
    if (item['@removed']) {
      model.users.set(id, { ...known, removed: true });
      usersRemoved++;
    } else {
      model.users.set(id, mergeUserChange(known, item));
    }
  }

  const linked = found?.linked ?? (await readLinkedGroups(graph, scope, options.pageSize, options.concurrency));
  onProgress?.({ phase: 'groups', count: linked.size });
  // Each linked group: unchanged (kept), patched from its member changes, or read again in full
  // (new, changed otherwise, or with a changed group nested in it).
  const reread: DirectoryGroupRef[] = [];
  const patched = new Map<string, string[]>();
  for (const g of linked.values()) {
    const last = model.groups.get(g.id);
    if (!last || last.nestedGroupIds.some((nested) => changes.groups.has(nested))) {
      reread.push(g);
    } else if (changes.groups.has(g.id)) {
      const members = patchMembers(last, changes.groups.get(g.id));
      if (members) patched.set(g.id, members);
      else reread.push(g);
    }
  }
  let dropped = 0;
  for (const id of [...model.groups.keys()]) {
    if (!linked.has(id)) {
      model.groups.delete(id);
      dropped++;
    }
  }
  // Names and descriptions from the listing; members from the last read until read again.
  for (const [id, ref] of linked) {
    const last = model.groups.get(id);
    if (last) model.groups.set(id, { ...last, name: ref.name, description: ref.description });
  }
  // Users a patch adds that the model does not know (or knows as deleted): read twenty to a batch.
  const missing = new Set<string>();
  for (const [id, members] of patched) {
    model.groups.set(id, { ...model.groups.get(id)!, userIds: members });
    for (const u of members) if (!model.users.get(u) || model.users.get(u)!.removed) missing.add(u);
  }
  const fetched = await readUsers(graph, [...missing], options.concurrency ?? 4);
  for (const id of missing) {
    const user = fetched.get(id);
    if (user) model.users.set(id, user);
    else model.users.delete(id); // gone meanwhile: left out (materialize skips unknown ids)
  }
  await readGroupsInto(graph, model, reread, options, null, onProgress);

  const ordered = new Map<string, GroupRecord>();
  for (const id of linked.keys()) ordered.set(id, model.groups.get(id)!);
  const result: DirectoryModel = { groups: ordered, users: model.users };
  pruneUsers(result);
  return {
    model: result,
    links: changes.links,
    stats: {
      usersChanged: changes.users.size,
      usersRemoved,
      groupsChanged: changes.groups.size,
      groupsPatched: patched.size,
      groupsReread: reread.length,
      groupsDropped: dropped,
      usersFetched: missing.size,
    },
  };
}

export function parseCursor(state: DirectoryState | null | undefined): DeltaCursor | null {
  const c = state?.cursor as Partial<DeltaCursor> | undefined;
  if (!c || c.version !== CURSOR_VERSION || typeof c.usersDeltaLink !== 'string' || typeof c.groupsDeltaLink !== 'string' || typeof c.scopeKey !== 'string') {
    return null;
  }
  return c as DeltaCursor;
}
