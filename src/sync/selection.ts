/**
 * Refusals of a sync's selection (groups, kind) before anything is recorded: what was asked for is
 * not linked. They name the few closest linked groups, never the whole list, and clip what was typed.
 */
import { refNames } from '../domain/dn.ts';
import type { LinkKind } from '../domain/types.ts';
import { GroupsyncError, clip, closestNames } from '../errors.ts';
import type { LinkState } from './plan.ts';

/** Matches a typed group (name or directory id in any case, or a DN however it is spelled) against a link. */
export function linkMatches(link: LinkState, typed: string): boolean {
  return refNames(typed, link);
}

/** NOT_FOUND for groups that are not linked to the connection, with the closest linked names. */
export function notLinked(connection: string, missing: readonly string[], links: readonly LinkState[]): GroupsyncError {
  const shown = missing.slice(0, 3);
  const quoted = shown.map((m) => `"${clip(m)}"`).join(', ') + (missing.length > shown.length ? ` and ${missing.length - shown.length} more` : '');
  const names = links.map((l) => l.name);
  const hints = shown
    .map((m) => ({ m, near: closestNames(m, names) }))
    .filter((h) => h.near.length)
    .map((h) => (shown.length === 1 ? `closest: ${h.near.join(', ')}` : `closest to "${clip(h.m)}": ${h.near.join(', ')}`));
  const help = hints.length
    ? hints.join('; ')
    : links.length
      ? `no linked group has a close name (${links.length} linked; "health --all" lists them)`
      : 'no group is linked yet (link one, or sync the connection to link its scope)';
  return new GroupsyncError('NOT_FOUND', `${quoted} ${missing.length === 1 ? 'is not a group' : 'are not groups'} linked to "${connection}"; ${help}`);
}

/** NOT_FOUND for `--kind` when no group is (or can become) linked as that kind: the sync would do nothing. */
export function checkKind(connection: string, kind: LinkKind, defaultKind: LinkKind, links: readonly LinkState[]): void {
  // Groups the scope brings in are linked with the connection's default kind at their first sync.
  if (kind === defaultKind || links.some((l) => l.kind === kind)) return;
  throw new GroupsyncError('NOT_FOUND', `no group is linked to "${connection}" as ${kind}; nothing to sync (link one with "link ${connection} <group> --kind ${kind}")`);
}
