/** Views of runs: one run's result, progress, history, and the approval card of a held run. */
import type { RunRow } from '../../store/runs.ts';
import { PAGE_SIZES, clampOffset, formatTime, pager, plural } from './format.ts';
import type { ApprovalView, ButtonView, CounterRow, Fact, NoticeView, ProgressView, RunView, RunsView, Tone } from './types.ts';

const RUN_TONE: Record<string, Tone> = { success: 'good', partial: 'warning', failed: 'attention', awaiting_approval: 'warning', rejected: 'default', dry_run: 'accent', running: 'accent' };

/** One row of counters: "Groups: created 3, modified 1, …", in the order given. */
function counterRow(label: string, counts: Readonly<Record<string, number>>): CounterRow {
  return { label, values: Object.entries(counts).map(([name, n]) => ({ label: name, value: String(n) })) };
}

function counters(r: RunRow): CounterRow[] {
  return [
    counterRow('Groups', { created: r.groupsCreated, modified: r.groupsModified, deleted: r.groupsDeleted, duplicated: r.groupsDuplicated }),
    counterRow('Users', { created: r.usersCreated, updated: r.usersUpdated, deactivated: r.usersDeactivated, conflicts: r.usersConflicts, ignored: r.usersIgnored }),
    counterRow('Memberships', { added: r.membershipsAdded, removed: r.membershipsRemoved }),
  ];
}

/** The provisioning-console summary: impacted, success, unsynced, partial, failed. */
function summaryRows(r: RunRow): CounterRow[] {
  if (!r.summary) return [];
  const row = (label: string, s: NonNullable<RunRow['summary']>['users']) =>
    counterRow(label, { impacted: s.impacted, success: s.success, unsynced: s.unsynced, partial: s.partial, failed: s.failed });
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
  const offset = clampOffset(options.skippedOffset ?? 0, r.skipped.length, PAGE_SIZES.skipped);
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
