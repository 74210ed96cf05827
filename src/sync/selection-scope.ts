/**
 * What a sync reads and plans: the whole scope of the connection, or the groups (and link kind)
 * the request selected. Resolved before anything is recorded: a wrong group name is the caller's
 * error, not a failed run.
 */
import type { ConnectionConfig } from '../config.ts';
import type { DirectorySnapshot, LinkKind, ReadScope } from '../domain/types.ts';
import type { LinkState } from './plan.ts';
import { checkKind, linkMatches, notLinked } from './selection.ts';

export interface Selection {
  readonly links: readonly LinkState[];
  readonly scope: ReadScope;
  /** The read covers only some groups: nothing outside them is deleted or deactivated, no state is kept. */
  readonly partialScope: boolean;
  /** Directory ids of the selected groups (null: every linked group). */
  readonly selectedIds: ReadonlySet<string> | null;
  readonly kind: LinkKind | null;
}

export function selectScope(config: ConnectionConfig, links: readonly LinkState[], request: { groups?: readonly string[] | undefined; kind?: LinkKind | undefined }): Selection {
  const kind = request.kind ?? null;
  if (kind) checkKind(config.name, kind, config.linkKind, links);
  if (request.groups?.length) {
    const wanted = request.groups;
    const missing = wanted.filter((w) => !links.some((l) => linkMatches(l, w)));
    if (missing.length) throw notLinked(config.name, missing, links);
    const selected = links.filter((l) => wanted.some((w) => linkMatches(l, w)));
    return { links, scope: { groupFilter: null, groupRefs: selected.map((l) => l.directoryId) }, partialScope: true, selectedIds: new Set(selected.map((l) => l.directoryId)), kind };
  }
  const scope: ReadScope = {
    groupFilter: config.groups.filter ?? null,
    groupRefs: [...config.groups.list, ...links.filter((l) => l.origin === 'manual').map((l) => l.directoryId)],
  };
  return { links, scope, partialScope: kind !== null, selectedIds: null, kind };
}

/** The snapshot narrowed to the selection: selected groups only; with a kind, only the users they reach. */
export function narrowSnapshot(snapshot: DirectorySnapshot, selection: Selection, defaultKind: LinkKind): DirectorySnapshot {
  let out = snapshot;
  const { selectedIds, kind, links } = selection;
  if (selectedIds) out = { ...out, groups: out.groups.filter((g) => selectedIds.has(g.id)) };
  if (kind) {
    const kindById = new Map(links.map((l) => [l.directoryId, l.kind]));
    out = { ...out, groups: out.groups.filter((g) => (kindById.get(g.id) ?? defaultKind) === kind) };
    const keep = new Set(out.groups.flatMap((g) => g.memberIds));
    out = { ...out, users: out.users.filter((u) => keep.has(u.id)) };
  }
  return out;
}

/** The links a partial run plans (all of them for a full-scope run). */
export function selectedLinks(selection: Selection): readonly LinkState[] {
  const { links, kind, selectedIds } = selection;
  if (kind) return links.filter((l) => l.kind === kind);
  if (selectedIds) return links.filter((l) => selectedIds.has(l.directoryId));
  return links;
}
