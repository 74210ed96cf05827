/** Builders of directory snapshots and store states for the planner's table tests. */
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser, MappingStatus, SkippedEntry } from '../../src/domain/types.ts';
import type { LinkState, LocalUserState, MappingState, PlanOptions, StoreState, SyncPlan } from '../../src/sync/plan.ts';

export function user(id: string, fields: Partial<DirectoryUser> = {}): DirectoryUser {
  return { id, dn: `uid=${id},ou=people,dc=example,dc=org`, login: id, mail: `${id}@example.org`, displayName: `User ${id}`, enabled: true, ...fields };
}

export function group(id: string, name: string, memberIds: string[], fields: Partial<DirectoryGroup> = {}): DirectoryGroup {
  return { id, dn: `cn=${name},ou=groups,dc=example,dc=org`, name, description: `${name} team`, memberIds, ...fields };
}

export function snapshot(groups: DirectoryGroup[], users: DirectoryUser[], skipped: SkippedEntry[] = [], held?: string[]): DirectorySnapshot {
  return { vendor: 'openldap', groups, users, skipped, certificate: null, ...(held ? { held } : {}) };
}

/** A link as the last sync left it for `g`. */
export function linkOf(id: number, g: DirectoryGroup, localGroupId: number | null, fields: Partial<LinkState> = {}): LinkState {
  return { id, directoryId: g.id, dn: g.dn, name: g.name, description: g.description, kind: 'group', origin: 'scope', localGroupId, ...fields };
}

/** A mapping row recording `u` as last read. */
export function mappingOf(u: DirectoryUser, status: MappingStatus, localUserId: number | null, fields: Partial<MappingState> = {}): MappingState {
  return { directoryId: u.id, status, localUserId, dn: u.dn, login: u.login, mail: u.mail, displayName: u.displayName, enabled: u.enabled, inScope: true, candidates: [], ...fields };
}

/** The local user a mapped `u` was synced into. */
export function localOf(id: number, u: DirectoryUser, fields: Partial<LocalUserState> = {}): LocalUserState {
  return { id, login: u.login, mail: u.mail, displayName: u.displayName, active: u.enabled, ...fields };
}

export interface StateInput {
  links?: LinkState[];
  unlinked?: string[];
  duplicates?: Array<[string, 'pending' | 'linked' | 'ignored', number | null]>;
  localGroups?: Array<{ id: number; name: string; linked: boolean }>;
  mappings?: MappingState[];
  localUsers?: LocalUserState[];
  candidates?: Record<string, number[]>;
  shared?: number[];
  memberships?: Record<number, number[]>;
}

export function state(input: StateInput = {}): StoreState {
  return {
    links: input.links ?? [],
    unlinked: new Set(input.unlinked ?? []),
    duplicates: new Map((input.duplicates ?? []).map(([id, status, localGroupId]) => [id, { status, localGroupId }])),
    localGroupsByName: new Map((input.localGroups ?? []).map((g) => [g.name.toLowerCase(), g])),
    mappings: new Map((input.mappings ?? []).map((m) => [m.directoryId, m])),
    localUsers: new Map((input.localUsers ?? []).map((u) => [u.id, u])),
    candidatesByKey: new Map(Object.entries(input.candidates ?? {})),
    sharedLocalUsers: new Set(input.shared ?? []),
    memberships: new Map(Object.entries(input.memberships ?? {}).map(([g, users]) => [Number(g), new Set(users)])),
  };
}

export const OPTIONS: PlanOptions = { connection: 'corp', linkKind: 'group', matchKey: 'mail', createUsers: true, partialScope: false };

/** [group, user] pairs, sorted, for order-free comparison. */
export function pairs(groups: readonly (number | string)[], users: readonly (number | string)[]): string[] {
  return groups.map((g, k) => `${g}:${users[k]}`).sort();
}

/** A plan in a canonical order (rows load in different orders with and without digests). */
export function canonical(plan: SyncPlan | null): unknown {
  if (!plan) return null;
  const pairs = (g: readonly unknown[], u: readonly unknown[]) => g.map((x, k) => `${x}:${u[k]}`).sort();
  const sortDeep = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortDeep).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortDeep(x)])) : v;
  const { memberships, ...rest } = plan;
  return { ...(sortDeep(rest) as object), added: pairs(memberships.addGroup, memberships.addUser), removed: pairs(memberships.removeGroup, memberships.removeUser) };
}
