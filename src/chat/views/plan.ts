/**
 * What a plan would change, one line per object, for the dry-run card (the CLI's `sync --dry-run`
 * lists the same): removals first, then creations, updates, mappings, conflicts and unmapped
 * users; cut at `max` lines with "… and N more".
 */
import type { SyncPlan } from '../../domain/plan.ts';
import { plural } from './format.ts';

const who = (u: { login: string | null; mail?: string | null; displayName?: string | null; directoryId: string }) => {
  const name = u.login ?? u.mail ?? u.directoryId;
  return u.displayName && u.displayName !== name ? `${u.displayName} (${name})` : name;
};

/** Every change of a plan as a line, in the order an admin checks them. */
export function planLines(plan: SyncPlan): string[] {
  const m = plan.memberships;
  return [
    ...plan.groups.delete.map((g) => `− delete group ${g.name}${g.members ? ` (${plural(g.members, 'member')})` : ''}`),
    ...plan.users.deactivate.map((u) => `− deactivate user ${u.login ?? u.directoryId} (${u.reason})`),
    ...(m.removeGroup.length ? [`− remove ${plural(m.removeGroup.length, 'membership')}`] : []),
    ...plan.groups.create.map((g) => `+ create group ${g.name} [${g.kind}]`),
    ...plan.users.create.map((u) => `+ create user ${who(u)}${u.enabled ? '' : ' (disabled)'}`),
    ...(m.addGroup.length ? [`+ add ${plural(m.addGroup.length, 'membership')}`] : []),
    ...plan.groups.update.map((u) => `~ update group ${u.before.name}${u.before.name !== u.after.name ? ` → ${u.after.name}` : ''}`),
    ...plan.users.update.map((u) => `~ update user ${who(u.after)}`),
    ...plan.users.map.map((u) => `~ map user ${who(u)} → local #${u.localUserId}`),
    ...plan.groups.duplicates.map((d) => `! duplicate group ${d.name} (not synced until you decide)`),
    ...plan.users.conflicts.filter((c) => !c.unchanged).map((c) => `! conflict ${who(c)}: ${plural(c.candidates.length, 'local candidate')}`),
    ...plan.users.unmapped.filter((u) => !u.unchanged).map((u) => `! unmapped ${who(u)}: ${u.reason}`),
  ];
}

/** The first `max` lines of a plan, and what is left out. */
export function planChanges(plan: SyncPlan, max = 15): { lines: string[]; more: string | null } {
  const all = planLines(plan);
  if (!all.length) return { lines: ['nothing would change'], more: null };
  return {
    lines: all.slice(0, max),
    more: all.length > max ? `… and ${all.length - max} more: the CLI lists them all (groupsync sync ${plan.connection} --dry-run)` : null,
  };
}
