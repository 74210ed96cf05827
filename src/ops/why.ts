/**
 * `why <user> [<group>]`: why a directory user is, or is not, a member of a linked group's local
 * group, from the store (mapping, ignore, link, local membership, the audit entry of the last
 * change) and, for one group, the nesting path read from the directory now: the store keeps each
 * group's effective members, not the member edges, and a targeted read of one user's groups costs
 * a few searches (see directory/ldap/member-path.ts). Plain data out.
 */
import { conflictReason } from '../domain/conflict.ts';
import { refNames } from '../domain/dn.ts';
import { GroupsyncError, describeError, isGroupsyncError } from '../errors.ts';
import { getLocalUsers } from '../store/local-users.ts';
import type { MappingRow } from '../store/mappings.ts';
import { type WhyLink, lastMembershipChange, listGroupsOfUser, listLinksWithGroups } from '../store/why.ts';
import { actorDisplay } from './audit-text.ts';
import type { OpsContext } from './context.ts';
import { findDirectoryUser } from './users.ts';

export interface WhyGroup {
  readonly group: string;
  readonly directoryId: string;
  readonly localGroup: string | null;
  readonly member: boolean;
  /** One sentence: why the user is or is not a member. */
  readonly reason: string;
  /**
   * The reason is the common one: the user's mapping or account keeps it out (the answer's
   * `blocker`), or it is not a member in the directory at the last sync. Lists of every group
   * fold these into one line.
   */
  readonly plain: boolean;
  /** `staff → teams → core → ana`, read from the directory (only when one group was asked about). */
  readonly path: readonly string[] | null;
  readonly pathNote: string | null;
  readonly link: string;
  readonly lastChange: { readonly runId: number | null; readonly at: Date; readonly actor: string; readonly actorName: string; readonly added: boolean } | null;
}

export interface WhyAnswer {
  readonly connection: string;
  readonly user: { readonly directoryId: string; readonly dn: string | null; readonly login: string | null; readonly displayName: string | null; readonly mail: string | null; readonly enabled: boolean; readonly inScope: boolean };
  /** `text`: "mapped to local user #12 ana by Ana Lima"; when an admin decided it, `resolvedAt` says when. */
  readonly mapping: { readonly status: MappingRow['status']; readonly localUser: { readonly id: number; readonly login: string | null } | null; readonly text: string; readonly resolvedAt: Date | null };
  /** The user's local groups (all of them, linked or not). */
  readonly localGroups: readonly string[];
  /** Why the user is not synced at all (its mapping, a disabled account, out of scope), or null when it is. */
  readonly blocker: string | null;
  /** The group asked about, or every link of the connection. */
  readonly groups: readonly WhyGroup[];
}

const nameOf = (m: MappingRow) => m.login ?? m.mail ?? m.directoryId;

function mappingText(m: MappingRow, localLogin: string | null): string {
  const by = m.resolvedBy ? ` by ${actorDisplay(m.resolvedBy)}` : '';
  switch (m.status) {
    case 'mapped':
      return `mapped to local user #${m.localUserId}${localLogin ? ` ${localLogin}` : ''}${by}`;
    case 'ignored':
      return `ignored${by}: every sync skips it`;
    case 'conflict':
      return `in conflict: ${conflictReason(m.candidates.length)}${m.candidates.length ? ` (local ${m.candidates.map((c) => `#${c}`).join(', ')})` : ''}; "map ${nameOf(m)} #id" maps it to a local user`;
    default:
      return `unmapped: no local user${m.reason ? ` (${m.reason})` : ''}`;
  }
}

/** Why the user is not synced at all, or null when it is. */
function blocker(m: MappingRow, mapping: string): string | null {
  if (m.status !== 'mapped') return mapping;
  if (!m.enabled) return 'disabled in the directory';
  if (!m.inScope) return 'out of scope: no linked group reaches it at the last run';
  return null;
}

function linkText(l: WhyLink): string {
  if (l.state === 'unlinked') return `${l.name} is unlinked: no longer synced`;
  const local = l.localGroupId === null ? 'no local group yet (not synced since it was linked)' : `local group ${l.localGroupName} (#${l.localGroupId})`;
  return `linked ${l.origin === 'scope' ? 'by the scope filter' : 'by hand'} as ${l.kind} → ${local}`;
}

export async function explainMembership(ctx: OpsContext, userRef: string, groupRef: string | null, connection: string | null): Promise<WhyAnswer> {
  const m = await findDirectoryUser(ctx, userRef, connection ?? undefined);
  const links = await listLinksWithGroups(ctx.db, m.connection);
  const chosen = groupRef ? [pickLink(links, groupRef, m.connection)] : links.filter((l) => l.state === 'active');
  const local = m.localUserId !== null ? await listGroupsOfUser(ctx.db, m.localUserId) : [];
  const [localUser] = m.localUserId !== null ? await getLocalUsers(ctx.db, [m.localUserId]) : [];
  const localLogin = localUser?.login ?? localUser?.mail ?? null;
  const mapping = mappingText(m, localLogin);
  const groups: WhyGroup[] = [];
  for (const l of chosen) groups.push(await explainOne(ctx, m, l, local, mapping, groupRef !== null));
  return {
    connection: m.connection,
    user: { directoryId: m.directoryId, dn: m.dn, login: m.login, displayName: m.displayName, mail: m.mail, enabled: m.enabled, inScope: m.inScope },
    mapping: { status: m.status, localUser: m.localUserId !== null ? { id: m.localUserId, login: localLogin } : null, text: mapping, resolvedAt: m.resolvedBy ? m.resolvedAt : null },
    localGroups: local.map((g) => g.name),
    blocker: blocker(m, mapping),
    groups,
  };
}

function pickLink(links: readonly WhyLink[], ref: string, connection: string): WhyLink {
  // A name or id in any case, a DN however it is spelled (as sync and unlink read it), or the local group's name.
  const found = links.filter((l) => refNames(ref, l) || l.localGroupName?.toLowerCase() === ref.toLowerCase());
  if (found.length === 1) return found[0]!;
  if (found.length > 1) throw new GroupsyncError('AMBIGUOUS', `"${ref}" names ${found.length} linked groups of ${connection}: ${found.map((l) => l.dn ?? l.directoryId).join('; ')}; give the DN`);
  throw new GroupsyncError('NOT_FOUND', `"${ref}" is not a linked group of ${connection}; "health" lists the linked groups`);
}

async function explainOne(ctx: OpsContext, m: MappingRow, l: WhyLink, local: ReadonlyArray<{ id: number }>, mapping: string, trace: boolean): Promise<WhyGroup> {
  const member = l.localGroupId !== null && local.some((g) => g.id === l.localGroupId);
  const { path, note, inDirectory } = trace ? await tracePath(ctx, m, l) : { path: null, note: null, inDirectory: null };
  const change = await lastChange(ctx, m, l);
  const reason = reasonOf(m, l, member, mapping, inDirectory);
  return {
    group: l.name,
    directoryId: l.directoryId,
    localGroup: l.localGroupName,
    member,
    reason,
    plain: !member && l.state !== 'unlinked' && l.localGroupId !== null && inDirectory !== true,
    path,
    pathNote: note,
    link: linkText(l),
    lastChange: change ? { ...change, actorName: actorDisplay(change.actor) } : null,
  };
}

/**
 * The last change of the membership: the run (or admin) that added or removed the user, or the
 * admin's ignore, which removes the memberships of every linked group at once (one audit entry).
 */
async function lastChange(ctx: OpsContext, m: MappingRow, l: WhyLink): Promise<{ runId: number | null; at: Date; actor: string; added: boolean } | null> {
  const change = l.localGroupId !== null && m.localUserId !== null ? await lastMembershipChange(ctx.db, l.localGroupId, m.localUserId) : null;
  const ignored = m.status === 'ignored' && m.resolvedAt && m.resolvedBy ? { runId: null, at: m.resolvedAt, actor: m.resolvedBy, added: false } : null;
  if (ignored && (!change || change.at <= ignored.at)) return ignored;
  return change ? { runId: change.runId, at: change.at, actor: change.actor, added: change.added } : null;
}

/** `inDirectory`: what the directory says now (true/false), or null when it was not asked. */
function reasonOf(m: MappingRow, l: WhyLink, member: boolean, mapping: string, inDirectory: boolean | null): string {
  if (l.state === 'unlinked') return `${l.name} is unlinked: groupsync no longer changes its members`;
  if (l.localGroupId === null) return `${l.name} has no local group yet: it is created by the next sync`;
  const block = blocker(m, mapping);
  if (member) {
    if (inDirectory === false) return `in the local group, but not a member of ${l.name} in the directory now: the next sync removes it`;
    return block ? `in the local group, though ${block}` : `in the local group because it is a member of ${l.name} in the directory`;
  }
  if (block) return block;
  if (inDirectory === true) return `a member of ${l.name} in the directory now, not yet in the local group: the next sync adds it`;
  return inDirectory === false ? `not a member of ${l.name} in the directory` : `not a member of ${l.name} in the directory at the last sync`;
}

/**
 * The nesting path read from the directory now, and whether the user is a member there (null when
 * the directory cannot say: a kind that cannot trace one user, or a failed read; the answer then
 * comes from the store's last read alone).
 */
async function tracePath(ctx: OpsContext, m: MappingRow, l: WhyLink): Promise<{ path: string[] | null; note: string | null; inDirectory: boolean | null }> {
  const source = ctx.createSource(ctx.engine.connection(m.connection));
  const unavailable = (why: string) => ({ path: null, note: `not available: ${why}; the answer above is from the last sync`, inDirectory: null });
  try {
    const chain = await source.memberPath?.({ id: l.directoryId, dn: l.dn }, { id: m.directoryId, dn: m.dn });
    if (chain === undefined) return unavailable('this kind of directory cannot trace nested groups for one user');
    if (chain) return { path: [...chain, nameOf(m)], note: null, inDirectory: true };
    return { path: null, note: `${nameOf(m)} is not a member of ${l.name} in the directory (read now)`, inDirectory: false };
  } catch (error) {
    if (isGroupsyncError(error, 'INVALID_STATE')) return unavailable(describeError(error));
    return unavailable(`the directory could not be read now (${describeError(error)})`);
  } finally {
    await source.close();
  }
}
