/**
 * Builds the neutral views from the operations' data. Pure functions: the same data always
 * gives the same view, so both renderers and the tests see exactly the same facts.
 */
import type { ConnectionHealth } from '../../health/health.ts';
import { describeReason } from '../../health/health.ts';
import type { IncidentRow } from '../../notify/incidents.ts';
import type { ConflictItem, ConnectionStatus, DuplicateItem, Page } from '../../ops/operations.ts';
import type { RunRow } from '../../store/runs.ts';
import { COMMANDS } from '../commands/spec.ts';
import type {
  AlertView,
  ApprovalView,
  ButtonView,
  ConflictsView,
  CounterRow,
  DuplicatesView,
  Fact,
  HealthView,
  HelpView,
  MessageView,
  NoticeView,
  PagerView,
  ProgressView,
  RunView,
  RunsView,
  StatusView,
  Tone,
} from './types.ts';

export const PAGE_SIZES = { health: 20, conflicts: 10, duplicates: 10, runs: 10, skipped: 15, audit: 15 } as const;

export function formatTime(d: Date | string | null | undefined): string {
  if (!d) return '—';
  const date = typeof d === 'string' ? new Date(d) : d;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function pager(view: string, params: Record<string, string | number>, offset: number, shown: number, total: number, size: number): PagerView | null {
  if (total <= size && offset === 0) return null;
  const prev = offset > 0 ? Math.max(0, offset - size) : null;
  const next = offset + shown < total ? offset + shown : null;
  return {
    from: shown ? offset + 1 : 0,
    to: offset + shown,
    total,
    previous: prev === null ? null : { label: '◀ Previous', verb: 'page', data: { view, ...params, offset: prev } },
    next: next === null ? null : { label: 'Next ▶', verb: 'page', data: { view, ...params, offset: next } },
  };
}

export function buildHelp(notice: NoticeView | null = null, topic: string | null = null): HelpView {
  const commands = COMMANDS.filter((c) => !topic || c.name === topic).map((c) => ({
    usage: c.usage,
    summary: c.summary,
    example: c.example,
    adminOnly: c.role === 'admin',
  }));
  return {
    type: 'help',
    title: topic ? `groupsync: ${topic}` : 'groupsync commands',
    intro: 'Keeps application groups in step with the directory. Type a command; names with spaces go in "double quotes". Commands marked (admin) change something and are for groupsync admins.',
    commands,
    notice,
  };
}

export function buildMessage(title: string, text: string, tone: Tone = 'default', facts: Fact[] = [], buttons: ButtonView[] = []): MessageView {
  return { type: 'message', title, tone, text, facts, buttons };
}

/** Health of everything: connections red first, then one page of links, red first. */
export function buildHealth(health: readonly ConnectionHealth[], offset = 0, notice: NoticeView | null = null): HealthView {
  const connections = [...health].sort((a, b) => Number(b.status === 'red') - Number(a.status === 'red') || a.name.localeCompare(b.name));
  const allLinks = connections
    .flatMap((c) => c.links.map((l) => ({ l, c })))
    .sort((a, b) => Number(b.l.status === 'red') - Number(a.l.status === 'red') || a.c.name.localeCompare(b.c.name) || a.l.name.localeCompare(b.l.name));
  const size = PAGE_SIZES.health;
  const page = allLinks.slice(offset, offset + size);
  const red = connections.filter((c) => c.status === 'red').length;
  const redLinks = allLinks.filter((x) => x.l.status === 'red').length;
  return {
    type: 'health',
    status: red || redLinks ? 'red' : 'green',
    summary: connections.length
      ? `${plural(connections.length, 'connection')} (${red} red), ${plural(allLinks.length, 'linked group')} (${redLinks} red)`
      : 'no connections are configured',
    connections: connections.map((c) => ({
      name: c.name,
      kind: c.kind,
      status: c.status,
      reasons: c.reasons.map(describeReason),
      lastSync: formatTime(c.lastSyncAt),
      nextRun: formatTime(c.nextRunAt),
      ssl: c.ssl.state === 'none' ? 'no TLS' : c.ssl.state,
      linkCount: c.links.length,
      redLinkCount: c.links.filter((l) => l.status === 'red').length,
      buttons: [
        { label: 'Status', verb: 'status.show', data: { connection: c.name } },
        { label: 'Sync now', verb: 'sync.start', data: { connection: c.name } },
      ],
    })),
    links: page.map(({ l, c }) => ({
      connection: c.name,
      name: l.name,
      kind: l.kind,
      status: l.status,
      members: String(l.members),
      lastSync: formatTime(l.lastSyncAt),
      reasons: l.reasons.map(describeReason).join('; ') || 'ok',
    })),
    pager: pager('health', {}, offset, page.length, allLinks.length, size),
    notice,
  };
}

export function adType(kind: string, vendor: string | null): string {
  if (kind === 'entra') return 'Azure';
  if (vendor === 'active-directory') return 'Active Directory';
  if (vendor === 'openldap') return 'OpenLDAP';
  if (vendor === '389ds') return '389 Directory Server';
  if (vendor === 'ldif') return 'LDIF file (sample)';
  return kind === 'ldif' ? 'LDIF file (sample)' : 'LDAP';
}

export function buildStatus(s: ConnectionStatus, notice: NoticeView | null = null): StatusView {
  return {
    type: 'status',
    name: s.name,
    status: s.health,
    reasons: s.reasons.map(describeReason),
    facts: [
      { label: 'Enabled', value: s.enabled ? 'yes' : 'no' },
      { label: 'AD type', value: adType(s.kind, s.vendor) },
      { label: 'Synced users', value: String(s.syncedUsers) },
      { label: 'Conflicts', value: String(s.conflicts) },
      { label: 'Unmapped', value: String(s.unmapped) },
      { label: 'Linked groups', value: String(s.linkedGroups) },
      { label: 'Pending duplicates', value: String(s.pendingDuplicates) },
      { label: 'SSL status', value: s.ssl.state === 'none' ? 'no TLS' : `${s.ssl.state}${s.ssl.detail ? ` (${s.ssl.detail})` : s.ssl.validTo ? ` (valid to ${formatTime(s.ssl.validTo)})` : ''}` },
      { label: 'Last sync', value: formatTime(s.lastSyncAt) },
      { label: 'Next run', value: formatTime(s.nextRunAt) },
      { label: 'Schedule', value: s.schedule },
      ...(s.quarantinedAt ? [{ label: 'Quarantined', value: `since ${formatTime(s.quarantinedAt)} after ${s.consecutiveFailures} failures` }] : []),
    ],
    attempts: s.lastAttempts.map((a) => ({
      id: a.id,
      status: a.status,
      trigger: a.trigger,
      started: formatTime(a.startedAt),
      error: a.error ?? '',
    })),
    runningSince: s.runningSince ? formatTime(s.runningSince) : null,
    buttons: [
      { label: 'Sync now', verb: 'sync.start', data: { connection: s.name } },
      { label: 'Conflicts', verb: 'conflicts.show', data: { connection: s.name } },
      { label: 'Duplicates', verb: 'duplicates.show', data: { connection: s.name } },
      { label: 'Run history', verb: 'runs.show', data: { connection: s.name } },
    ],
    notice,
  };
}

const RUN_TONE: Record<string, Tone> = { success: 'good', partial: 'warning', failed: 'attention', awaiting_approval: 'warning', rejected: 'default', dry_run: 'accent', running: 'accent' };

function counters(r: RunRow): CounterRow[] {
  return [
    {
      label: 'Groups',
      values: [
        { label: 'created', value: String(r.groupsCreated) },
        { label: 'modified', value: String(r.groupsModified) },
        { label: 'deleted', value: String(r.groupsDeleted) },
        { label: 'duplicated', value: String(r.groupsDuplicated) },
      ],
    },
    {
      label: 'Users',
      values: [
        { label: 'created', value: String(r.usersCreated) },
        { label: 'updated', value: String(r.usersUpdated) },
        { label: 'deactivated', value: String(r.usersDeactivated) },
        { label: 'conflicts', value: String(r.usersConflicts) },
        { label: 'ignored', value: String(r.usersIgnored) },
      ],
    },
    {
      label: 'Memberships',
      values: [
        { label: 'added', value: String(r.membershipsAdded) },
        { label: 'removed', value: String(r.membershipsRemoved) },
      ],
    },
  ];
}

function summaryRows(r: RunRow): CounterRow[] {
  if (!r.summary) return [];
  const row = (label: string, s: NonNullable<RunRow['summary']>['users']): CounterRow => ({
    label,
    values: [
      { label: 'impacted', value: String(s.impacted) },
      { label: 'success', value: String(s.success) },
      { label: 'unsynced', value: String(s.unsynced) },
      { label: 'partial', value: String(s.partial) },
      { label: 'failed', value: String(s.failed) },
    ],
  });
  return [row('Users', r.summary.users), row('Groups', r.summary.groups)];
}

function headline(r: RunRow): string {
  switch (r.status) {
    case 'success':
      return `Run #${r.id} of ${r.connection} succeeded`;
    case 'partial':
      return `Run #${r.id} of ${r.connection} applied, with ${plural(r.skipped.length, 'skipped entry')}`.replace('entrys', 'entries');
    case 'failed':
      return `Run #${r.id} of ${r.connection} failed: nothing was applied`;
    case 'awaiting_approval':
      return `Run #${r.id} of ${r.connection} is held for approval`;
    case 'rejected':
      return `Run #${r.id} of ${r.connection} was rejected: nothing was applied`;
    case 'dry_run':
      return `Dry run #${r.id} of ${r.connection}: nothing was changed`;
    default:
      return `Run #${r.id} of ${r.connection} is running`;
  }
}

export interface AuditEntry {
  readonly at: Date;
  readonly actor: string;
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
}

/** One run: counters, summary, skipped entries (paged) and, for `run <id>`, its audit entries. */
export function buildRun(r: RunRow, options: { audit?: { entries: readonly AuditEntry[]; total: number }; skippedOffset?: number; notice?: NoticeView | null } = {}): RunView {
  const offset = options.skippedOffset ?? 0;
  const skippedPage = r.skipped.slice(offset, offset + PAGE_SIZES.skipped);
  const buttons: ButtonView[] = [];
  if (r.status === 'awaiting_approval') {
    buttons.push({ label: 'Approve', verb: 'run.approve', data: { run: r.id }, style: 'positive' }, { label: 'Reject', verb: 'run.reject', data: { run: r.id }, style: 'destructive' });
  }
  if (r.status === 'failed' || r.status === 'partial') buttons.push({ label: 'Sync again', verb: 'sync.start', data: { connection: r.connection } });
  if (!options.audit) buttons.push({ label: 'Details', verb: 'run.show', data: { run: r.id } });
  return {
    type: 'run',
    id: r.id,
    connection: r.connection,
    status: r.status,
    tone: RUN_TONE[r.status] ?? 'default',
    headline: headline(r),
    facts: [
      { label: 'Status', value: r.status.replace('_', ' ') + (r.dryRun && r.status !== 'dry_run' ? ' (dry run)' : '') },
      { label: 'Trigger', value: `${r.trigger} by ${r.actor}` },
      { label: 'Started', value: formatTime(r.startedAt) },
      { label: 'Finished', value: formatTime(r.finishedAt) },
      ...(r.groupFilter.length ? [{ label: 'Groups', value: r.groupFilter.join(', ') }] : []),
      ...(r.kindFilter ? [{ label: 'Kind', value: r.kindFilter }] : []),
      ...(r.decidedBy ? [{ label: 'Decided', value: `by ${r.decidedBy} at ${formatTime(r.decidedAt)}` }] : []),
    ],
    counters: r.status === 'failed' ? [] : counters(r),
    summary: r.status === 'failed' ? [] : summaryRows(r),
    error: r.error ? `${r.status === 'awaiting_approval' ? 'Held' : (r.errorCode ?? 'Error')}: ${r.error}` : null,
    skipped: skippedPage.map((s) => `${s.ref}: ${s.reason}`),
    skippedPager: pager('run.skipped', { run: r.id }, offset, skippedPage.length, r.skipped.length, PAGE_SIZES.skipped),
    audit: options.audit ? options.audit.entries.map((a) => `${formatTime(a.at)} ${a.actor}: ${a.action} ${a.targetType} ${a.targetId}`) : [],
    auditNote: options.audit
      ? options.audit.total > options.audit.entries.length
        ? `${options.audit.entries.length} of ${options.audit.total} audit entries shown; the full log: groupsync run ${r.id} --json`
        : `${plural(options.audit.total, 'audit entry')}`.replace('entrys', 'entries')
      : null,
    buttons,
    notice: options.notice ?? null,
  };
}

export function buildProgress(connection: string, runId: number | null, text: string, steps: Fact[] = [], notice: NoticeView | null = null): ProgressView {
  return { type: 'progress', connection, runId, text, steps, notice };
}

export function buildRuns(connection: string, runs: readonly RunRow[], offset: number, total: number, notice: NoticeView | null = null): RunsView {
  return {
    type: 'runs',
    connection,
    runs: runs.map((r) => ({
      id: r.id,
      status: r.status + (r.dryRun && r.status !== 'dry_run' ? ' (dry)' : ''),
      trigger: r.trigger,
      actor: r.actor,
      started: formatTime(r.startedAt),
      changes: `groups +${r.groupsCreated} ~${r.groupsModified} −${r.groupsDeleted}; users +${r.usersCreated} ~${r.usersUpdated} −${r.usersDeactivated}; members +${r.membershipsAdded} −${r.membershipsRemoved}`,
      error: r.error ?? '',
      button: { label: `#${r.id}`, verb: 'run.show', data: { run: r.id } },
    })),
    pager: pager('runs', { connection }, offset, runs.length, total, PAGE_SIZES.runs),
    notice,
  };
}

const MAX_CANDIDATE_BUTTONS = 4;

export function buildConflicts(connection: string, page: Page<ConflictItem>, notice: NoticeView | null = null): ConflictsView {
  return {
    type: 'conflicts',
    connection,
    total: page.total,
    summary: page.total ? `${page.total === 1 ? '1 user is' : `${page.total} users are`} in conflict or unmapped.` : '0 users to resolve: no conflicts and no unmapped users.',
    items: page.items.map((c) => {
      const shown = c.candidates.slice(0, MAX_CANDIDATE_BUTTONS);
      const hidden = c.candidates.length - shown.length;
      const reason =
        c.status === 'conflict'
          ? `${plural(c.candidates.length, 'local candidate')}: ${c.candidates.map((x) => `#${x.id} ${x.login ?? x.mail ?? ''}`.trim()).join(', ') || 'another directory user has the same key'}` +
            (hidden ? ` (${hidden} without a button: use "map ${c.login ?? c.directoryId} #id")` : '')
          : (c.reason ?? 'no local user matches');
      return {
        directoryId: c.directoryId,
        user: c.displayName ? `${c.displayName} (${c.login ?? c.directoryId})` : (c.login ?? c.directoryId),
        detail: [c.mail, c.dn].filter(Boolean).join(' · ') || c.directoryId,
        status: c.status,
        reason,
        buttons: [
          ...shown.map((x) => ({
            label: `Map to ${x.login ?? x.mail ?? `#${x.id}`}`,
            verb: 'conflict.map',
            data: { connection, user: c.directoryId, local: x.id, offset: page.offset },
            style: 'positive' as const,
          })),
          { label: 'Ignore', verb: 'conflict.ignore', data: { connection, user: c.directoryId, offset: page.offset } },
        ],
      };
    }),
    pager: pager('conflicts', { connection }, page.offset, page.items.length, page.total, page.limit),
    notice,
  };
}

export function buildDuplicates(connection: string, page: Page<DuplicateItem>, notice: NoticeView | null = null): DuplicatesView {
  return {
    type: 'duplicates',
    connection,
    total: page.total,
    summary: page.total
      ? `${page.total === 1 ? '1 directory group has' : `${page.total} directory groups have`} the name of a local group ${page.total === 1 ? 'it is' : 'they are'} not linked to; not synced until you decide.`
      : '0 pending duplicates.',
    items: page.items.map((d) => ({
      id: d.id,
      name: d.name,
      directoryRef: d.dn ?? d.directoryId,
      localGroup: d.localGroupId === null ? 'the local group no longer exists' : `#${d.localGroupId} ${d.localGroupName ?? ''} (${plural(d.localMembers, 'member')})`.trim(),
      detected: formatTime(d.detectedAt),
      buttons: [
        { label: 'Link to existing', verb: 'duplicate.link', data: { connection, id: d.id, offset: page.offset }, style: 'positive' as const },
        { label: 'Ignore', verb: 'duplicate.ignore', data: { connection, id: d.id, offset: page.offset } },
      ],
    })),
    pager: pager('duplicates', { connection }, page.offset, page.items.length, page.total, page.limit),
    notice,
  };
}

export interface HeldDetails {
  readonly reason: string | null;
  readonly sample: readonly string[];
}

/** The approval card of a held run; once decided it says by whom and when, and has no buttons. */
export function buildApproval(r: RunRow, held: HeldDetails, notice: NoticeView | null = null): ApprovalView {
  const state: ApprovalView['state'] = r.status === 'awaiting_approval' ? 'pending' : r.status === 'rejected' ? 'rejected' : r.decidedBy ? 'approved' : 'superseded';
  const removals = r.groupsDeleted + r.usersDeactivated + r.membershipsRemoved;
  return {
    type: 'approval',
    runId: r.id,
    connection: r.connection,
    state,
    reason: held.reason ?? r.error ?? 'the plan removes more than the deletion threshold',
    facts: [
      { label: 'Groups to delete', value: String(r.groupsDeleted) },
      { label: 'Users to deactivate', value: String(r.usersDeactivated) },
      { label: 'Memberships to remove', value: String(r.membershipsRemoved) },
      { label: 'Groups to create', value: String(r.groupsCreated) },
      { label: 'Users to create', value: String(r.usersCreated) },
      { label: 'Memberships to add', value: String(r.membershipsAdded) },
      { label: 'Requested', value: `${r.trigger} by ${r.actor} at ${formatTime(r.startedAt)}` },
    ],
    sample: held.sample,
    sampleNote: held.sample.length < removals ? `a sample of ${held.sample.length} of ${removals} removals; the full plan: groupsync run ${r.id} --json` : null,
    decision:
      state === 'pending'
        ? null
        : state === 'superseded'
          ? `no longer held: the run is ${r.status}`
          : `${state} by ${r.decidedBy} at ${formatTime(r.decidedAt)}${state === 'approved' ? ` — run ${r.status}` : ''}`,
    buttons:
      state === 'pending'
        ? [
            { label: 'Approve', verb: 'run.approve', data: { run: r.id }, style: 'positive' },
            { label: 'Reject', verb: 'run.reject', data: { run: r.id }, style: 'destructive' },
            { label: 'Show run', verb: 'run.show', data: { run: r.id } },
          ]
        : [{ label: 'Show run', verb: 'run.show', data: { run: r.id } }],
    notice,
  };
}

const CAUSE_TITLES: Record<string, string> = {
  run_failed: 'Sync failed',
  awaiting_approval: 'Sync held for approval',
  link_red: 'Linked group needs attention',
  stale: 'Sync is overdue',
  quarantined: 'Connection quarantined',
  cert_expiring: 'Certificate expiring',
  cert_expired: 'Certificate expired',
  cert_untrusted: 'Certificate not trusted',
};

type Details = Record<string, unknown> & { resolution?: Record<string, unknown> };

function incidentText(i: IncidentRow): string {
  const d = i.details as Details;
  switch (i.cause) {
    case 'run_failed':
      return `Run #${i.runId} failed${d.code ? ` (${String(d.code)})` : ''}: ${String(d.error ?? 'unknown error')}. Nothing was applied.`;
    case 'awaiting_approval':
      return `Run #${i.runId} would remove more than the threshold allows: ${String(d.reason ?? '')}. It waits for an admin.`;
    case 'link_red': {
      const reasons = Array.isArray(d.reasons) ? (d.reasons as Array<{ text?: string }>).map((r) => r.text).filter(Boolean) : [];
      return `${String(d.link ?? `link ${i.linkId}`)}: ${reasons.join('; ') || 'red'}`;
    }
    default:
      return String(d.text ?? i.cause);
  }
}

/** An alert card for an incident: open with the obvious next steps, or resolved. */
export function buildAlert(i: IncidentRow): AlertView {
  const d = i.details as Details;
  const buttons: ButtonView[] = [];
  if (i.status === 'open') {
    if (i.cause === 'awaiting_approval' && i.runId) {
      buttons.push({ label: 'Approve', verb: 'run.approve', data: { run: i.runId }, style: 'positive' }, { label: 'Reject', verb: 'run.reject', data: { run: i.runId }, style: 'destructive' });
    } else if (i.cause === 'link_red') {
      buttons.push({ label: 'Conflicts', verb: 'conflicts.show', data: { connection: i.connection } }, { label: 'Duplicates', verb: 'duplicates.show', data: { connection: i.connection } });
    } else {
      buttons.push({ label: 'Sync now', verb: 'sync.start', data: { connection: i.connection } });
    }
    if (i.runId) buttons.push({ label: 'Show run', verb: 'run.show', data: { run: i.runId } });
    buttons.push({ label: 'Status', verb: 'status.show', data: { connection: i.connection } });
  } else if (i.runId) {
    buttons.push({ label: 'Show run', verb: 'run.show', data: { run: i.runId } });
  }
  // A click on an alert answers in a message of its own: the alert card changes only when the
  // incident is resolved, so it always says where the incident stands.
  const fromAlert = buttons.map((b) => ({ ...b, data: { ...b.data, origin: 'alert' } }));
  const resolution = d.resolution ?? {};
  const resolvedText =
    i.cause === 'awaiting_approval' && resolution.decidedBy
      ? `${resolution.status === 'rejected' ? 'Rejected' : 'Approved'} by ${String(resolution.decidedBy)}`
      : resolution.runId
        ? `Run #${String(resolution.runId)} succeeded`
        : resolution.reason
          ? String(resolution.reason)
          : 'The cause is gone';
  return {
    type: 'alert',
    incidentId: i.id,
    state: i.status,
    title: `${i.status === 'resolved' ? 'Resolved: ' : ''}${CAUSE_TITLES[i.cause] ?? i.cause} — ${i.connection}`,
    connection: i.connection,
    text: incidentText(i),
    facts: [
      { label: 'Connection', value: i.connection },
      { label: 'Opened', value: formatTime(i.openedAt) },
      ...(i.runId ? [{ label: 'Run', value: `#${i.runId}` }] : []),
      ...(i.status === 'resolved' ? [{ label: 'Resolved', value: `${formatTime(i.resolvedAt)}: ${resolvedText}` }] : []),
    ],
    buttons: fromAlert,
    notice: null,
  };
}

export function notice(tone: Tone, text: string): NoticeView {
  return { tone, text };
}
