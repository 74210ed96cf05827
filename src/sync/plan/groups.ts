/**
 * The groups step: each directory group of the snapshot is created, updated, relinked or found
 * to be a duplicate; links whose group left the scope are deleted. Returns where each synced
 * group's members go (`target`).
 */
import type { DirectoryGroup, DirectorySnapshot, SkippedEntry } from '../../domain/types.ts';
import type { GroupFields, LinkState, PlanOptions, Ref, StoreState, SyncPlan } from '../../domain/plan.ts';

export interface GroupsPart {
  readonly groups: SyncPlan['groups'];
  /** Groups not synced for a reason an admin must see (a rename onto a taken name). */
  readonly skipped: SkippedEntry[];
  /** Directory group id → where its members go: a local group id, or its own directory id when created now. */
  readonly target: Map<string, Ref>;
}

interface Walk {
  readonly state: StoreState;
  readonly part: GroupsPart;
  /** Lower-case names taken in this run → the group taking it: a created group's directory id, a renamed group's local id. */
  readonly claimedNames: Map<string, Ref>;
}

export function planGroups(snapshot: DirectorySnapshot, state: StoreState, options: PlanOptions, held: ReadonlySet<string>): GroupsPart {
  const part: GroupsPart = { groups: { create: [], update: [], delete: [], duplicates: [], relink: [] }, skipped: [], target: new Map() };
  const walk: Walk = { state, part, claimedNames: new Map() };
  const linkByDirectoryId = new Map(state.links.map((l) => [l.directoryId, l]));
  const seen = new Set<string>();
  for (const g of snapshot.groups) {
    if (seen.has(g.id) || state.unlinked.has(g.id)) continue;
    seen.add(g.id);
    const link = linkByDirectoryId.get(g.id);
    const kind = link?.kind ?? options.kindOf?.get(g.id) ?? options.linkKind;
    const origin = link?.origin ?? (options.manualIds?.has(g.id) ? 'manual' : 'scope');
    const fields: GroupFields = { directoryId: g.id, dn: g.dn, name: g.name, description: g.description, kind, origin };
    if (!link) planNewGroup(walk, fields);
    else if (link.localGroupId === null) planRelink(walk, link, fields);
    else planLinkedGroup(walk, link, link.localGroupId, g, fields);
  }
  // Entries skipped for a value (by id) and groups reached only through a skipped group (held)
  // are left as they are: a group is not deleted.
  for (const link of state.links) {
    if (seen.has(link.directoryId) || held.has(link.directoryId)) continue;
    if (options.partialScope) continue;
    const members = link.localGroupId === null ? 0 : (state.memberships.get(link.localGroupId)?.size ?? 0);
    part.groups.delete.push({ linkId: link.id, localGroupId: link.localGroupId, directoryId: link.directoryId, name: link.name, members });
  }
  return part;
}

/** A group not linked yet: created, unless a local group (or one created now) has its name. */
function planNewGroup({ state, part, claimedNames }: Walk, fields: GroupFields): void {
  if (state.duplicates.has(fields.directoryId)) return; // pending or ignored: not synced until an admin links it
  const key = fields.name.toLowerCase();
  const existing = state.localGroupsByName.get(key);
  if (existing || claimedNames.has(key)) {
    // A local group of that name that this directory group is not linked to: a duplicate
    // (of an existing local group, or of the one another directory group creates in this run).
    part.groups.duplicates.push({ ...fields, localGroupId: existing ? existing.id : claimedNames.get(key)! });
    return;
  }
  claimedNames.set(key, fields.directoryId);
  part.groups.create.push(fields);
  part.target.set(fields.directoryId, fields.directoryId);
}

/** Linked by an admin but no local group (yet, or any more): create one, unless the name is taken (a duplicate). */
function planRelink({ state, part, claimedNames }: Walk, link: LinkState, fields: GroupFields): void {
  const key = fields.name.toLowerCase();
  const existing = state.localGroupsByName.get(key);
  if (state.duplicates.has(fields.directoryId)) return;
  if (existing || claimedNames.has(key)) {
    part.groups.duplicates.push({ ...fields, localGroupId: existing ? existing.id : claimedNames.get(key)! });
    return;
  }
  claimedNames.set(key, fields.directoryId);
  part.groups.relink.push({ linkId: link.id, fields });
  part.target.set(fields.directoryId, fields.directoryId);
}

/** A linked group: renamed or described anew (unless its new name is taken), its members synced. */
function planLinkedGroup({ state, part, claimedNames }: Walk, link: LinkState, localGroupId: number, g: DirectoryGroup, fields: GroupFields): void {
  part.target.set(g.id, localGroupId);
  const key = g.name.toLowerCase();
  const taken = state.localGroupsByName.get(key);
  if (link.name.toLowerCase() !== key && (claimedNames.has(key) || (taken && taken.id !== localGroupId))) {
    part.skipped.push({ ref: g.dn ?? g.id, kind: 'group', reason: `cannot rename local group "${link.name}" to "${g.name}": another local group has that name` });
    return;
  }
  // The new name is claimed: another group renamed to it, or created with it, in this run is refused.
  if (link.name.toLowerCase() !== key) claimedNames.set(key, localGroupId);
  if (link.name !== g.name || link.description !== g.description || link.dn !== g.dn) {
    part.groups.update.push({
      linkId: link.id,
      localGroupId,
      before: { directoryId: g.id, dn: link.dn, name: link.name, description: link.description, kind: link.kind, origin: link.origin },
      after: fields,
    });
  }
}
