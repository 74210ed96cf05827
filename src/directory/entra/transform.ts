/**
 * Pure transformers between Microsoft Graph objects and groupsync's plain types, and the
 * directory model both the full and the delta read produce: linked groups with the ids of every
 * user and nested group reached (Graph's transitiveMembers), and the users reached.
 */
import { provideMemberIndex } from '../../domain/snapshot-index.ts';
import type { DirectoryGroup, DirectoryGroupRef, DirectoryUser, ReadScope, SkippedEntry } from '../../domain/types.ts';

/** What is `$select`ed: nothing more is asked of Graph. */
export const USER_SELECT = ['id', 'userPrincipalName', 'mail', 'displayName', 'accountEnabled'] as const;
export const GROUP_SELECT = ['id', 'displayName', 'description'] as const;

/** A Graph directory object as returned with `$select` (users, groups, devices, service principals). */
export interface GraphObject {
  readonly '@odata.type'?: string;
  readonly id: string;
  readonly userPrincipalName?: string | null;
  readonly mail?: string | null;
  readonly displayName?: string | null;
  readonly description?: string | null;
  readonly accountEnabled?: boolean | null;
  readonly '@removed'?: { readonly reason?: string };
  readonly 'members@delta'?: readonly unknown[];
}

/** A user as last read. `removed`: reported deleted by a delta query (kept as a tombstone). */
export interface UserRecord {
  readonly id: string;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly enabled: boolean;
  readonly removed?: boolean;
}

export interface GroupRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  /** Users reached through nested groups (Graph resolves the nesting, cycles included). */
  readonly userIds: readonly string[];
  /** Groups nested at any depth: a change to one of them means this group must be read again. */
  readonly nestedGroupIds: readonly string[];
}

export interface DirectoryModel {
  readonly groups: Map<string, GroupRecord>;
  readonly users: Map<string, UserRecord>;
}

export function objectKind(o: GraphObject): 'user' | 'group' | 'other' {
  const type = o['@odata.type'];
  if (type === '#microsoft.graph.user') return 'user';
  if (type === '#microsoft.graph.group') return 'group';
  return 'other';
}

const text = (value: string | null | undefined): string | null => (typeof value === 'string' && value !== '' ? value : null);

/** `id`: the string to keep for the user's id (the model's own, when it knows the user already). */
export function toUserRecord(o: GraphObject, id = o.id.toLowerCase()): UserRecord {
  return {
    id,
    login: text(o.userPrincipalName),
    mail: text(o.mail),
    displayName: text(o.displayName),
    // A user whose accountEnabled is false is a disabled account: deactivated locally, as on LDAP.
    enabled: o.accountEnabled !== false,
  };
}

/** Whether a user object read now says what the record holds (without building a record to compare). */
export function sameUser(known: UserRecord, o: GraphObject): boolean {
  return (
    known.login === text(o.userPrincipalName) && known.mail === text(o.mail) && known.displayName === text(o.displayName) && known.enabled === (o.accountEnabled !== false)
  );
}

/** A delta item carries only what changed: properties it does not carry keep their last value. */
export function mergeUserChange(previous: UserRecord, o: GraphObject): UserRecord {
  return {
    id: previous.id,
    login: 'userPrincipalName' in o ? text(o.userPrincipalName) : previous.login,
    mail: 'mail' in o ? text(o.mail) : previous.mail,
    displayName: 'displayName' in o ? text(o.displayName) : previous.displayName,
    enabled: 'accountEnabled' in o ? o.accountEnabled !== false : previous.enabled,
  };
}

export function toGroupRef(o: GraphObject): DirectoryGroupRef | null {
  const name = text(o.displayName);
  if (!name) return null;
  return { id: o.id.toLowerCase(), dn: null, name, description: text(o.description) };
}

const MAIL = /^[^\s@]+@[^\s@]+$/;

/** A user record → a DirectoryUser, or the reason it cannot be used (as on LDAP). */
export function toDirectoryUser(u: UserRecord): DirectoryUser | SkippedEntry {
  if (u.mail !== null && !MAIL.test(u.mail)) return { ref: u.login ?? u.id, id: u.id, kind: 'user', reason: `invalid mail value "${u.mail}"` };
  return { id: u.id, dn: null, login: u.login, mail: u.mail, displayName: u.displayName, enabled: u.enabled };
}

function isSkipped(value: DirectoryUser | SkippedEntry): value is SkippedEntry {
  return 'reason' in value;
}

/** A user decided out of the snapshot (removed, unknown or skipped: not a member). */
const OUT = -1;

/**
 * The snapshot the planner gets: linked groups with their users, the users reached, and what was
 * skipped (both in the order groups first reach them). Each user is decided once, on its first
 * membership; the others look the decision up (one map lookup per membership). The members'
 * indexes into the users are given to the plan with the arrays (snapshot-index.ts).
 */
export function materialize(model: DirectoryModel): { groups: DirectoryGroup[]; users: DirectoryUser[]; skipped: SkippedEntry[] } {
  // A user's decision: its index in `users`, or OUT.
  const decided = new Map<string, number>();
  const users: DirectoryUser[] = [];
  const skipped: SkippedEntry[] = [];
  const decide = (id: string): number => {
    const record = model.users.get(id);
    let index = OUT;
    if (record && !record.removed) {
      // Deleted in the directory (removed) or unknown: out of scope, not skipped.
      const converted = toDirectoryUser(record);
      if (isSkipped(converted)) skipped.push(converted);
      else index = users.push(converted) - 1;
    }
    decided.set(id, index);
    return index;
  };
  const groups: DirectoryGroup[] = [];
  const numbers: Int32Array[] = [];
  const indexes: number[] = [];
  let numbered = true;
  for (const g of model.groups.values()) {
    const memberIds: string[] = [];
    indexes.length = 0;
    for (const id of g.userIds) {
      const index = decided.get(id) ?? decide(id);
      if (index === OUT) continue;
      memberIds.push(id);
      indexes.push(index);
      // A user whose record names it otherwise is numbered by snapshotIndex from the member ids.
      if (users[index]!.id !== id) numbered = false;
    }
    groups.push({ id: g.id, dn: null, name: g.name, description: g.description, memberIds });
    numbers.push(Int32Array.from(indexes));
  }
  if (numbered) provideMemberIndex(users, groups, numbers);
  return { groups, users, skipped };
}

/** Users no linked group reaches any more are dropped from the model (they left the scope). */
export function pruneUsers(model: DirectoryModel): void {
  const reached = new Set<string>();
  for (const g of model.groups.values()) for (const id of g.userIds) reached.add(id);
  for (const id of [...model.users.keys()]) if (!reached.has(id)) model.users.delete(id);
}

/** Identifies what was read: a delta link is only good for the same scope. */
export function scopeKey(scope: ReadScope, usersFilter: string | null, graphBaseUrl: string, tenantId: string): string {
  return JSON.stringify({
    tenant: tenantId.toLowerCase(),
    graph: graphBaseUrl.toLowerCase(),
    filter: scope.groupFilter,
    refs: [...new Set(scope.groupRefs.map((r) => r.toLowerCase()))].sort(),
    users: usersFilter,
  });
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isObjectId(ref: string): boolean {
  return GUID.test(ref);
}

/** An OData string literal: single quotes doubled. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
