/**
 * What a sync reads and plans: the whole scope of the connection, or the groups (and link kind)
 * the request selected. Resolved before anything is recorded: a wrong group name is the caller's
 * error, not a failed run.
 */
import type { ConnectionConfig } from '../config.ts';
import type { DirectorySnapshot, LinkKind, ReadScope } from '../domain/types.ts';
import type { LinkState } from './plan.ts';
import { checkKind, linkMatches, notLinked } from './selection.ts';

/** The whole scope of the connection: everything it syncs is read and planned, and its state kept. */
export interface WholeSelection {
  readonly partialScope: false;
  readonly scope: ReadScope;
}

/** Some groups (named, or of one link kind): nothing outside them is deleted or deactivated, no state is kept. */
export interface PartialSelection {
  readonly partialScope: true;
  readonly scope: ReadScope;
  /** Every active link of the connection (the selection is resolved against them). */
  readonly links: readonly LinkState[];
  /** Directory ids of the selected groups (null: every linked group). */
  readonly selectedIds: ReadonlySet<string> | null;
  readonly kind: LinkKind | null;
}

export type Selection = WholeSelection | PartialSelection;

export interface SelectionRequest {
  readonly groups?: readonly string[] | undefined;
  readonly kind?: LinkKind | undefined;
}

/** Whether the request selects some groups (by name or link kind) rather than the whole scope. */
export function isPartialRequest(request: SelectionRequest): boolean {
  return !!request.groups?.length || !!request.kind;
}

/**
 * The whole scope: the configured groups (filter and list) and the groups linked by hand
 * (`manualIds`, the directory ids of the connection's active manual links, in link order). A
 * sync of the whole scope needs no more of the links before it reads: the plan loads them.
 */
export function wholeScope(config: ConnectionConfig, manualIds: readonly string[]): WholeSelection {
  return { partialScope: false, scope: { groupFilter: config.groups.filter ?? null, groupRefs: [...config.groups.list, ...manualIds] } };
}

/** The groups a partial request selects, checked against the connection's active links. */
export function selectScope(config: ConnectionConfig, links: readonly LinkState[], request: SelectionRequest): PartialSelection {
  const kind = request.kind ?? null;
  if (kind) checkKind(config.name, kind, config.linkKind, links);
  if (request.groups?.length) {
    const wanted = request.groups;
    const missing = wanted.filter((w) => !links.some((l) => linkMatches(l, w)));
    if (missing.length) throw notLinked(config.name, missing, links);
    const selected = links.filter((l) => wanted.some((w) => linkMatches(l, w)));
    return { links, scope: { groupFilter: null, groupRefs: selected.map((l) => l.directoryId) }, partialScope: true, selectedIds: new Set(selected.map((l) => l.directoryId)), kind };
  }
  const manualIds = links.filter((l) => l.origin === 'manual').map((l) => l.directoryId);
  return { links, scope: wholeScope(config, manualIds).scope, partialScope: true, selectedIds: null, kind };
}

/** The snapshot narrowed to the selection: selected groups only; with a kind, only the users they reach. */
export function narrowSnapshot(snapshot: DirectorySnapshot, selection: Selection, defaultKind: LinkKind): DirectorySnapshot {
  if (!selection.partialScope) return snapshot;
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

/** The links a partial run plans. */
export function selectedLinks(selection: PartialSelection): readonly LinkState[] {
  const { links, kind, selectedIds } = selection;
  if (kind) return links.filter((l) => l.kind === kind);
  if (selectedIds) return links.filter((l) => selectedIds.has(l.directoryId));
  return links;
}
