/**
 * Terminal text of what has no neutral view yet: a dry run's plan and the incident list. Everything
 * else the CLI prints is a view (text-views.ts).
 */
import type { IncidentRow } from '../notify/incidents.ts';
import type { SyncPlan } from '../sync/plan.ts';
import { table } from './table.ts';
import { WIDTH } from './text-views.ts';

const time = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

export function renderPlan(plan: SyncPlan, max = 25): string {
  const lines: string[] = ['plan:'];
  const section = (title: string, items: string[]) => {
    if (!items.length) return;
    lines.push(`  ${title} (${items.length}):`);
    for (const i of items.slice(0, max)) lines.push(`    ${i}`);
    if (items.length > max) lines.push(`    … and ${items.length - max} more (--json for all)`);
  };
  section('create groups', plan.groups.create.map((g) => `${g.name}  [${g.kind}]  ${g.dn ?? ''}`));
  section('update groups', plan.groups.update.map((u) => `${u.before.name} → ${u.after.name}${u.before.description !== u.after.description ? ` (description: ${u.after.description ?? '—'})` : ''}`));
  section('delete groups', plan.groups.delete.map((d) => d.name));
  section('duplicate groups (not synced)', plan.groups.duplicates.map((d) => `${d.name}  ${d.dn ?? ''}`));
  section('create users', plan.users.create.map((u) => `${u.login ?? '—'}  ${u.mail ?? '—'}  ${u.enabled ? '' : '(disabled)'}`));
  section('map users', plan.users.map.map((u) => `${u.login ?? u.directoryId} → local #${u.localUserId}`));
  section('update users', plan.users.update.map((u) => `#${u.localUserId} ${u.after.login ?? ''}`));
  section('deactivate users', plan.users.deactivate.map((d) => `#${d.localUserId} ${d.login ?? d.directoryId} (${d.reason})`));
  section('conflicts', plan.users.conflicts.map((c) => `${c.login ?? c.directoryId}: candidates ${c.candidates.map((x) => `#${x}`).join(', ') || '(another directory user has the same key)'}`));
  section('unmapped', plan.users.unmapped.map((u) => `${u.login ?? u.directoryId}: ${u.reason}`));
  lines.push(`  memberships: +${plan.memberships.addGroup.length} −${plan.memberships.removeGroup.length}`);
  return lines.join('\n');
}

/** A grouped link alert names its links; other incidents show their details as stored. */
function incidentDetails(i: IncidentRow): string {
  const d = i.details as { total?: unknown; links?: Array<{ name: string }> };
  if (i.cause === 'link_red' && typeof d.total === 'number' && Array.isArray(d.links)) {
    return `${d.total} red link${d.total === 1 ? '' : 's'}: ${d.links.map((l) => l.name).join(', ')}${d.total > d.links.length ? ', …' : ''}`;
  }
  return JSON.stringify(i.details);
}

export function renderIncidents(list: readonly IncidentRow[]): string {
  if (!list.length) return 'no open incidents';
  return table(
    ['id', 'status', 'connection', 'cause', 'opened', 'resolved', 'details'],
    list.map((i) => [
      i.id,
      i.status,
      i.connection + (i.linkId ? ` / link ${(i.details as { link?: string }).link ?? i.linkId}` : ''),
      i.cause,
      time(i.openedAt),
      time(i.resolvedAt),
      incidentDetails(i).slice(0, 80),
    ]),
    WIDTH,
  );
}
