/** Readable tables for the terminal. Pure functions of the operations' data. */
import { type ConnectionHealth, describeReason } from '../health/health.ts';
import type { IncidentRow } from '../notify/incidents.ts';
import type { ConflictItem, ConnectionStatus, DuplicateItem, Page } from '../ops/operations.ts';
import type { RunRow } from '../store/runs.ts';
import type { SyncResult } from '../sync/engine.ts';
import type { SyncPlan } from '../sync/plan.ts';
import { table } from './table.ts';

const time = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

export function renderStatus(s: ConnectionStatus): string {
  const lines = [
    `${s.name}  (${s.kind}${s.vendor ? `, ${s.vendor}` : ''})  ${s.enabled ? 'enabled' : 'DISABLED'}  ${s.health.toUpperCase()}`,
    ...s.reasons.map((r) => `  • ${describeReason(r)}`),
    table(
      ['linked groups', 'synced users', 'conflicts', 'unmapped', 'ignored', 'duplicates', 'SSL', 'last sync', 'next run', 'schedule'],
      [[s.linkedGroups, s.syncedUsers, s.conflicts, s.unmapped, s.ignored, s.pendingDuplicates, s.ssl.state + (s.ssl.detail ? ` (${s.ssl.detail})` : ''), time(s.lastSyncAt), time(s.nextRunAt), s.schedule]],
    ),
  ];
  if (s.runningSince) lines.push(`a sync is running since ${time(s.runningSince)}`);
  lines.push('last attempts:');
  lines.push(
    s.lastAttempts.length
      ? table(['run', 'status', 'trigger', 'started', 'finished', 'error'], s.lastAttempts.map((r) => [r.id, r.status, r.trigger, time(r.startedAt), time(r.finishedAt), (r.error ?? '').slice(0, 60)]))
      : '  none yet — run "groupsync sync ' + s.name + '"',
  );
  return lines.join('\n');
}

export function renderCounters(run: RunRow): string {
  return table(
    ['', 'created', 'modified/updated', 'deleted/deactivated', 'duplicates/conflicts', 'ignored'],
    [
      ['groups', run.groupsCreated, run.groupsModified, run.groupsDeleted, run.groupsDuplicated, '—'],
      ['users', run.usersCreated, run.usersUpdated, run.usersDeactivated, run.usersConflicts, run.usersIgnored],
      ['memberships', run.membershipsAdded, '—', run.membershipsRemoved, '—', '—'],
    ],
  );
}

function renderSummary(run: RunRow): string {
  if (!run.summary) return '';
  const s = run.summary;
  return table(
    ['', 'impacted', 'success', 'unsynced', 'partial', 'failed'],
    [
      ['users', s.users.impacted, s.users.success, s.users.unsynced, s.users.partial, s.users.failed],
      ['groups', s.groups.impacted, s.groups.success, s.groups.unsynced, s.groups.partial, s.groups.failed],
    ],
  );
}

export function renderSyncResult(result: SyncResult): string {
  const r = result.run;
  const head = `run #${r.id} ${r.connection}: ${r.status.toUpperCase()}${r.dryRun ? ' (dry run: nothing changed)' : ''}`;
  const lines = [head];
  if (r.status === 'failed') lines.push(`error (${r.errorCode}): ${r.error}`, 'nothing was applied');
  if (r.status === 'awaiting_approval') lines.push(`held: ${r.error}`, `approve with "groupsync approve ${r.id}" or reject with "groupsync reject ${r.id}"`);
  if (r.status !== 'failed') lines.push(renderCounters(r), renderSummary(r));
  if (r.skipped.length) lines.push(`skipped ${r.skipped.length}:`, ...r.skipped.slice(0, 20).map((s) => `  ${s.ref}: ${s.reason}`), ...(r.skipped.length > 20 ? [`  … and ${r.skipped.length - 20} more (groupsync run ${r.id} --json)`] : []));
  return lines.filter(Boolean).join('\n');
}

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

export function renderRuns(runs: readonly RunRow[]): string {
  if (!runs.length) return 'no runs yet';
  return table(
    ['run', 'status', 'trigger', 'actor', 'started', 'groups +/~/−', 'users +/~/−', 'members +/−', 'error'],
    runs.map((r) => [
      r.id,
      r.status + (r.dryRun ? ' (dry)' : ''),
      r.trigger,
      r.actor,
      time(r.startedAt),
      `${r.groupsCreated}/${r.groupsModified}/${r.groupsDeleted}`,
      `${r.usersCreated}/${r.usersUpdated}/${r.usersDeactivated}`,
      `${r.membershipsAdded}/${r.membershipsRemoved}`,
      (r.error ?? '').slice(0, 50),
    ]),
  );
}

export function renderRun(detail: { run: RunRow; audit: Array<{ at: Date; actor: string; action: string; targetType: string; targetId: string; before: unknown; after: unknown }>; auditTotal: number }): string {
  const r = detail.run;
  const lines = [renderSyncResult({ run: r, plan: null, counts: null, verdict: null })];
  lines.push(`trigger ${r.trigger} by ${r.actor}; started ${time(r.startedAt)}, finished ${time(r.finishedAt)}`);
  if (r.decidedBy) lines.push(`decided by ${r.decidedBy} at ${time(r.decidedAt)}`);
  lines.push(`audit (${detail.audit.length} of ${detail.auditTotal}):`);
  for (const a of detail.audit) lines.push(`  ${time(a.at)} ${a.actor} ${a.action} ${a.targetType}:${a.targetId} ${a.before ? JSON.stringify(a.before) : '∅'} → ${a.after ? JSON.stringify(a.after) : '∅'}`.slice(0, 240));
  return lines.join('\n');
}

export function renderConflicts(page: Page<ConflictItem>): string {
  if (!page.total) return 'no conflicts and no unmapped users';
  const lines = [`${page.total} users need attention (showing ${page.offset + 1}–${page.offset + page.items.length}):`];
  lines.push(
    table(
      ['user', 'mail', 'status', 'candidates / reason'],
      page.items.map((c) => [
        c.login ?? c.directoryId,
        c.mail ?? '—',
        c.status,
        c.status === 'conflict' && c.candidates.length
          ? c.candidates.map((x) => `#${x.id} ${x.login ?? ''} ${x.mail ?? ''}`.trim()).join('\n')
          : c.reason ?? '',
      ]),
    ),
  );
  lines.push('resolve with: groupsync map <user> <#local-id>   or   groupsync ignore <user>');
  if (page.offset + page.items.length < page.total) lines.push(`more: --offset ${page.offset + page.items.length}`);
  return lines.join('\n');
}

export function renderDuplicates(page: Page<DuplicateItem>): string {
  if (!page.total) return 'no pending duplicates';
  const lines = [`${page.total} duplicate groups are not synced:`];
  lines.push(table(['id', 'directory group', 'existing local group', 'local members'], page.items.map((d) => [d.id, `${d.name}\n${d.dn ?? d.directoryId}`, `#${d.localGroupId} ${d.localGroupName ?? ''}`, d.localMembers])));
  lines.push('resolve with: groupsync duplicate link <id>   or   groupsync duplicate ignore <id>');
  if (page.offset + page.items.length < page.total) lines.push(`more: --offset ${page.offset + page.items.length}`);
  return lines.join('\n');
}

export function renderHealth(health: readonly ConnectionHealth[], all: boolean): string {
  if (!health.length) return 'no connections configured';
  const lines: string[] = [];
  for (const c of health) {
    lines.push(`${c.status === 'red' ? 'RED  ' : 'green'} ${c.name} (${c.kind})  last sync ${time(c.lastSyncAt)}  next run ${time(c.nextRunAt)}  SSL ${c.ssl.state}`);
    for (const r of c.reasons) lines.push(`        • ${describeReason(r)}`);
    const links = all ? c.links : c.links.filter((l) => l.status === 'red');
    if (links.length) {
      lines.push(
        table(
          ['link', 'kind', 'members', 'last sync', 'reasons'],
          links.map((l) => [`${l.status === 'red' ? '✗' : '✓'} ${l.name}`, l.kind, l.members, time(l.lastSyncAt), l.reasons.map(describeReason).join('\n') || '—']),
        ),
      );
    }
    const green = c.links.length - c.links.filter((l) => l.status === 'red').length;
    if (!all && green) lines.push(`        ${green} green link${green === 1 ? '' : 's'} (--all to list them)`);
  }
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
  );
}
