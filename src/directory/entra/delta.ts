/**
 * Incremental reads with Graph delta queries.
 *
 * Design. The planner needs a complete snapshot of the scope (it deletes groups and deactivates
 * users that are missing from it), and a delta query only says what changed. So the source keeps,
 * per connection, the directory model as last read (linked groups → users and nested groups
 * reached; the users' properties), compressed, next to the two delta links; the engine stores
 * them only with a run that applied (never after a failed, held, dry or partial-scope run). A
 * delta read then:
 *   1. follows the users delta link: changed users get their new properties, deleted ones
 *      (`@removed`) become tombstones (out of scope, as a deleted LDAP entry; back if restored);
 *   2. follows the groups delta link: the ids of groups whose properties or members changed;
 *   3. lists the linked groups again (the scope filter and explicit ids: cheap, and the only
 *      way to see a group newly matching or no longer matching the filter);
 *   4. reads again, in full, the transitive members of every linked group that is new, changed,
 *      or has a changed group nested in it (known from the model); the other groups keep theirs.
 * The snapshot is built from that model: as complete as a full read. Anything it cannot vouch
 * for falls back to a full read, recorded on the run: no stored state, another scope, a users
 * filter (whose matches a delta cannot tell), or an expired or invalid delta link
 * (`syncStateNotFound`, 410 Gone).
 *
 * Delta links are taken (`$deltatoken=latest`) before a full read starts, so a change made
 * during the read is reported again by the next delta, never lost.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DirectoryState, ReadProgress, ReadScope } from '../../domain/types.ts';
import { type GraphHttp, deltaExpiredReason } from './client.ts';
import { type ReadOptions, readGroupsInto, readLinkedGroups } from './read.ts';
import {
  type DirectoryModel,
  type GraphObject,
  type GroupRecord,
  USER_SELECT,
  type UserRecord,
  mergeUserChange,
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

export interface Changes {
  readonly users: Map<string, GraphObject>;
  readonly groups: Set<string>;
  readonly links: DeltaLinks;
}

/** Follows both delta links to their ends. An expired link throws DeltaExpiredError. */
export async function readChanges(graph: GraphHttp, cursor: DeltaCursor): Promise<Changes> {
  const users = new Map<string, GraphObject>();
  const groups = new Set<string>();
  try {
    const usersDeltaLink = await lastDeltaLink(graph, cursor.usersDeltaLink, (item) => {
      const id = item.id.toLowerCase();
      // Several pages may report one user: merge, the latest wins.
      users.set(id, { ...(users.get(id) ?? {}), ...item });
    });
    const groupsDeltaLink = await lastDeltaLink(graph, cursor.groupsDeltaLink, (item) => groups.add(item.id.toLowerCase()));
    return { users, groups, links: { usersDeltaLink, groupsDeltaLink } };
  } catch (error) {
    const reason = deltaExpiredReason(error);
    if (reason) throw new DeltaExpiredError(reason, { cause: error });
    throw error;
  }
}

export interface DeltaResult {
  readonly model: DirectoryModel;
  readonly links: DeltaLinks;
  readonly stats: { usersChanged: number; usersRemoved: number; groupsChanged: number; groupsReread: number; groupsDropped: number };
}

/** Applies the changes to the last model, reading again only the groups they touch. */
export async function readDelta(
  graph: GraphHttp,
  cursor: DeltaCursor,
  previous: DirectoryModel,
  scope: ReadScope,
  options: ReadOptions,
  onProgress?: (progress: ReadProgress) => void,
): Promise<DeltaResult> {
  const changes = await readChanges(graph, cursor);
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

  const linked = await readLinkedGroups(graph, scope, options.pageSize);
  onProgress?.({ phase: 'groups', count: linked.size });
  const reread = [...linked.values()].filter((g) => {
    const last = model.groups.get(g.id);
    return !last || changes.groups.has(g.id) || last.nestedGroupIds.some((nested) => changes.groups.has(nested));
  });
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
  await readGroupsInto(graph, model, reread, options, null, onProgress);

  const ordered = new Map<string, GroupRecord>();
  for (const id of linked.keys()) ordered.set(id, model.groups.get(id)!);
  const result: DirectoryModel = { groups: ordered, users: model.users };
  pruneUsers(result);
  return {
    model: result,
    links: changes.links,
    stats: { usersChanged: changes.users.size, usersRemoved, groupsChanged: changes.groups.size, groupsReread: reread.length, groupsDropped: dropped },
  };
}

// --- the model as stored between runs --------------------------------------------------------

interface EncodedModel {
  readonly v: number;
  /** [id, login, mail, displayName, enabled (1/0), removed (1/0)] */
  readonly users: Array<[string, string | null, string | null, string | null, number, number]>;
  /** [id, name, description, user indexes, nested group ids] */
  readonly groups: Array<[string, string, string | null, number[], string[]]>;
}

export function encodeModel(model: DirectoryModel): Uint8Array {
  const index = new Map<string, number>();
  const users: EncodedModel['users'] = [];
  for (const u of model.users.values()) {
    index.set(u.id, users.length);
    users.push([u.id, u.login, u.mail, u.displayName, u.enabled ? 1 : 0, u.removed ? 1 : 0]);
  }
  const groups: EncodedModel['groups'] = [];
  for (const g of model.groups.values()) {
    const members: number[] = [];
    for (const id of g.userIds) {
      const k = index.get(id);
      if (k !== undefined) members.push(k);
    }
    groups.push([g.id, g.name, g.description, members, [...g.nestedGroupIds]]);
  }
  const encoded: EncodedModel = { v: CURSOR_VERSION, users, groups };
  return gzipSync(JSON.stringify(encoded), { level: 6 });
}

/** The stored model, or null when it is missing or from another version (then: a full read). */
export function decodeModel(bytes: Uint8Array | null): DirectoryModel | null {
  if (!bytes) return null;
  let encoded: EncodedModel;
  try {
    encoded = JSON.parse(gunzipSync(bytes).toString('utf8')) as EncodedModel;
  } catch {
    return null;
  }
  if (encoded.v !== CURSOR_VERSION) return null;
  const ids: string[] = [];
  const users = new Map<string, UserRecord>();
  for (const [id, login, mail, displayName, enabled, removed] of encoded.users) {
    ids.push(id);
    users.set(id, { id, login, mail, displayName, enabled: enabled === 1, ...(removed ? { removed: true } : {}) });
  }
  const groups = new Map<string, GroupRecord>();
  for (const [id, name, description, members, nested] of encoded.groups) {
    groups.set(id, { id, name, description, userIds: members.map((k) => ids[k]!), nestedGroupIds: nested });
  }
  return { groups, users };
}

export function parseCursor(state: DirectoryState | null | undefined): DeltaCursor | null {
  const c = state?.cursor as Partial<DeltaCursor> | undefined;
  if (!c || c.version !== CURSOR_VERSION || typeof c.usersDeltaLink !== 'string' || typeof c.groupsDeltaLink !== 'string' || typeof c.scopeKey !== 'string') {
    return null;
  }
  return c as DeltaCursor;
}
