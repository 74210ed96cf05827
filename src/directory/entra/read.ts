/**
 * Reads a scope from Microsoft Graph: the linked groups (by the scope filter and by id), each
 * one's transitive members (Graph expands nested groups, cycles included), and the users reached.
 * Every collection is read with `$select` of what is used, `$top` at the page size, and
 * `@odata.nextLink` to the end; requests of one object or one first page each (a group's
 * members, a group or a user by id) go twenty to a JSON batch (batch.ts). A read that cannot
 * complete throws: no partial model.
 */
import type { DirectoryGroupRef, ReadProgress, ReadScope } from '../../domain/types.ts';
import { GroupsyncError } from '../../errors.ts';
import { CollectionPace } from '../../memory.ts';
import { BATCH_SIZE, getEach } from './batch.ts';
import { type GraphHttp } from './client.ts';
import { GraphError } from '@microsoft/microsoft-graph-client';
import {

  type DirectoryModel,
  GROUP_SELECT,
  type GraphObject,
  type GroupRecord,
  USER_SELECT,
  type UserRecord,
  isObjectId,
  objectKind,
  odataString,
  sameUser,
  toGroupRef,
  toUserRecord,
} from './transform.ts';

/**
 * Member objects read before the first full collection: about 10 MB of Graph's JSON (five
 * properties each); the next ones come each time a quarter as many again as before were read
 * (src/memory.ts). Graph's pages are garbage several times the size of the model they build:
 * through a read of 700,000 memberships it reached ~100 MB over a live model of ~50 MB without
 * them, and doubling the pace instead (four collections, not fourteen) left 381 MB of peak RSS to
 * a full sync that a pace of 50,000 kept to 323 MB.
 */
export const MEMBERS_PER_COLLECTION = 50_000;
const COLLECTION_GROWTH = 0.25;

export interface ReadOptions {
  readonly pageSize: number;
  /** OData filter users must also match (e.g. "accountEnabled eq true"), or null. */
  readonly usersFilter: string | null;
  /** Groups whose members are read at the same time. */
  readonly concurrency?: number;
}

const q = (value: string) => encodeURIComponent(value);

async function* collect<T>(graph: GraphHttp, url: string): AsyncGenerator<T> {
  for await (const page of graph.pages<T>(url)) yield* page.value;
}

function isNotFound(error: unknown): boolean {
  return error instanceof GraphError && error.statusCode === 404;
}

const groupPath = (id: string) => `/groups/${q(id)}?$select=${GROUP_SELECT.join(',')}`;
const userPath = (id: string) => `/users/${q(id)}?$select=${USER_SELECT.join(',')}`;

/** One group by id; null when it does not exist (any more). */
export async function readGroupById(graph: GraphHttp, id: string): Promise<DirectoryGroupRef | null> {
  try {
    const o = await graph.get<GraphObject>(groupPath(id));
    return toGroupRef(o);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export async function findGroupsByName(graph: GraphHttp, name: string, pageSize: number): Promise<DirectoryGroupRef[]> {
  const out: DirectoryGroupRef[] = [];
  const url = `/groups?$filter=${q(`displayName eq ${odataString(name)}`)}&$select=${GROUP_SELECT.join(',')}&$top=${pageSize}`;
  for await (const o of collect<GraphObject>(graph, url)) {
    const ref = toGroupRef(o);
    if (ref) out.push(ref);
  }
  return out;
}

/**
 * The groups the scope selects now: by filter, then by reference (id, or display name). Groups
 * linked by id that the filter did not list are read twenty to a batch.
 */
export async function readLinkedGroups(graph: GraphHttp, scope: ReadScope, pageSize: number, concurrency = 4): Promise<Map<string, DirectoryGroupRef>> {
  const linked = new Map<string, DirectoryGroupRef>();
  if (scope.groupFilter) {
    const url = `/groups?$filter=${q(scope.groupFilter)}&$select=${GROUP_SELECT.join(',')}&$top=${pageSize}`;
    for await (const o of collect<GraphObject>(graph, url)) {
      const ref = toGroupRef(o);
      if (ref) linked.set(ref.id, ref);
    }
  }
  const byId = [...new Set(scope.groupRefs.filter(isObjectId).map((ref) => ref.toLowerCase()))].filter((id) => !linked.has(id));
  const found = await getEach<GraphObject>(graph, byId.map(groupPath), concurrency);
  const groups = new Map(byId.map((id, k) => [id, found[k] ? toGroupRef(found[k]) : null]));
  for (const ref of scope.groupRefs) {
    if (isObjectId(ref)) {
      const group = groups.get(ref.toLowerCase());
      // A linked group gone from the directory is left out: the planner deletes its local group.
      if (group && !linked.has(group.id)) linked.set(group.id, group);
    } else {
      for (const group of await findGroupsByName(graph, ref, pageSize)) linked.set(group.id, group);
    }
  }
  return linked;
}

export interface GroupMembers {
  readonly users: UserRecord[];
  readonly nestedGroupIds: string[];
}

/** One page of a collection as Graph answers it. */
interface PageBody {
  readonly value?: GraphObject[];
  readonly '@odata.nextLink'?: string;
}

const membersPath = (groupId: string, pageSize: number) => `/groups/${q(groupId)}/transitiveMembers?$select=${USER_SELECT.join(',')}&$top=${pageSize}`;

/**
 * A group's transitive members: users (with their properties) and nested groups, read to the
 * end, one request per page (the bench's baseline; the source reads groups in batches).
 */
export async function readTransitiveMembers(graph: GraphHttp, groupId: string, pageSize: number): Promise<GroupMembers> {
  const users: UserRecord[] = [];
  const nestedGroupIds: string[] = [];
  for await (const o of collect<GraphObject>(graph, membersPath(groupId, pageSize))) {
    const kind = objectKind(o);
    if (kind === 'user') users.push(toUserRecord(o));
    else if (kind === 'group') nestedGroupIds.push(o.id.toLowerCase());
    // Devices, service principals, contacts: not users of the application.
  }
  return { users, nestedGroupIds };
}

/**
 * One group's members as they are read, page by page, into the model: each user's id once (the
 * model's own string), its record only when it is new to the model or changed (the latest read
 * wins), nothing else kept from a page. In a model this read started empty (a full read) every
 * record was read by this read: a user met again keeps it, without comparing its properties.
 */
class MemberCollector {
  readonly userIds: string[] = [];
  /** Objects read from the pages (users, groups and others). */
  objects = 0;
  readonly nested = new Set<string>();
  readonly #seen = new Set<string>();
  readonly #model: DirectoryModel;
  readonly #allowed: Set<string> | null;
  readonly #fresh: boolean;

  constructor(model: DirectoryModel, allowed: Set<string> | null, fresh: boolean) {
    this.#model = model;
    this.#allowed = allowed;
    this.#fresh = fresh;
  }

  add(page: readonly GraphObject[]): void {
    this.objects += page.length;
    for (const o of page) {
      const kind = objectKind(o);
      if (kind === 'group') this.nested.add(o.id.toLowerCase());
      if (kind !== 'user') continue; // devices, service principals, contacts: not users of the application
      const id = o.id.toLowerCase();
      if (this.#seen.has(id) || (this.#allowed && !this.#allowed.has(id))) continue;
      this.#seen.add(id);
      const known = this.#model.users.get(id);
      if (!known || (!this.#fresh && (known.removed || !sameUser(known, o)))) this.#model.users.set(known?.id ?? id, toUserRecord(o, known?.id ?? id));
      // One string per user id across all groups (a page gives each occurrence its own copy).
      this.userIds.push(known?.id ?? id);
    }
  }
}

/**
 * Reads the members of these groups into the model (replacing what it held for them): the first
 * page of twenty groups in one JSON batch, the further pages of a large group one by one, a few
 * batches at a time. Users are stored once; their latest read wins.
 */
export async function readGroupsInto(
  graph: GraphHttp,
  model: DirectoryModel,
  groups: readonly DirectoryGroupRef[],
  options: ReadOptions,
  allowed: Set<string> | null,
  onProgress?: (progress: ReadProgress) => void,
): Promise<void> {
  const chunks: DirectoryGroupRef[][] = [];
  for (let start = 0; start < groups.length; start += BATCH_SIZE) chunks.push(groups.slice(start, start + BATCH_SIZE));
  // Every record of a model that starts empty is read by this read (see MemberCollector).
  const fresh = model.users.size === 0;
  let cursor = 0;
  let done = 0;
  // The pages' garbage is collected as the read goes on (src/memory.ts).
  const pace = new CollectionPace(MEMBERS_PER_COLLECTION, COLLECTION_GROWTH);
  const worker = async () => {
    while (cursor < chunks.length) {
      const chunk = chunks[cursor++]!;
      const firstPages = await getEach<PageBody>(graph, chunk.map((g) => membersPath(g.id, options.pageSize)), 1);
      for (const [k, group] of chunk.entries()) {
        const first = firstPages[k];
        // Listed a moment ago, gone now: the read cannot vouch for the scope (as a single read's 404).
        if (!first) throw Object.assign(new GraphError(404, `group ${group.id} is gone while its members are read`), { code: 'Request_ResourceNotFound' });
        firstPages[k] = null; // a page read is not kept while the chunk's large groups page on
        graph.stats.pages++;
        const members = new MemberCollector(model, allowed, fresh);
        members.add(first.value ?? []);
        if (first['@odata.nextLink']) for await (const page of graph.pages<GraphObject>(first['@odata.nextLink'])) members.add(page.value);
        model.groups.set(group.id, { id: group.id, name: group.name, description: group.description, userIds: members.userIds, nestedGroupIds: [...members.nested] });
        pace.read(members.objects);
        done++;
        if (done % 50 === 0 || done === groups.length) onProgress?.({ phase: 'members', count: done });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, chunks.length) }, worker));
}

/** Users by id (those not found are left out), twenty to a batch, a few batches at a time. */
export async function readUsers(graph: GraphHttp, ids: readonly string[], concurrency: number): Promise<Map<string, UserRecord>> {
  const out = new Map<string, UserRecord>();
  const found = await getEach<GraphObject>(graph, ids.map(userPath), concurrency);
  ids.forEach((id, k) => {
    const o = found[k];
    if (o) out.set(id, toUserRecord(o, id));
  });
  return out;
}

/** Ids of the users matching the users filter, or null when there is none. */
export async function readAllowedUsers(graph: GraphHttp, options: ReadOptions): Promise<Set<string> | null> {
  if (!options.usersFilter) return null;
  const allowed = new Set<string>();
  const url = `/users?$filter=${q(options.usersFilter)}&$select=id&$top=${options.pageSize}`;
  for await (const o of collect<GraphObject>(graph, url)) allowed.add(o.id.toLowerCase());
  return allowed;
}

/** A complete read of the scope into a fresh model. */
export async function readFull(
  graph: GraphHttp,
  scope: ReadScope,
  options: ReadOptions,
  onProgress?: (progress: ReadProgress) => void,
): Promise<DirectoryModel> {
  const linked = await readLinkedGroups(graph, scope, options.pageSize, options.concurrency);
  onProgress?.({ phase: 'groups', count: linked.size });
  const allowed = await readAllowedUsers(graph, options);
  const model: DirectoryModel = { groups: new Map(), users: new Map() };
  await readGroupsInto(graph, model, [...linked.values()], options, allowed, onProgress);
  // Keep the order the groups were listed in (a worker pool finishes them in any order).
  const ordered = new Map<string, GroupRecord>();
  for (const id of linked.keys()) ordered.set(id, model.groups.get(id)!);
  return { groups: ordered, users: model.users };
}

/** Finds one group by id or display name, for linking. Several matches are ambiguous. */
export async function findGroup(graph: GraphHttp, ref: string, pageSize: number): Promise<DirectoryGroupRef | null> {
  if (isObjectId(ref)) return readGroupById(graph, ref);
  const found = await findGroupsByName(graph, ref, pageSize);
  if (found.length === 0) return null;
  if (found.length > 1) {
    throw new GroupsyncError('AMBIGUOUS', `"${ref}" names ${found.length} groups: ${found.map((g) => g.id).join('; ')}; give the object id instead`);
  }
  return found[0]!;
}
