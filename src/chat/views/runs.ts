/** Views of runs: one run's result, progress, history, and the approval card of a held run. */
import type { RunRow } from '../../store/runs.ts';
import type { SyncPlan } from '../../domain/plan.ts';
import { PAGE_SIZES, clampOffset, displayActor, formatTime, pager, plural } from './format.ts';
import { planChanges } from './plan.ts';
import type { ApprovalView, ButtonView, CounterRow, Fact, NoticeView, ProgressView, RunView, RunsView, Tone } from './types.ts';

const RUN_TONE: Record<string, Tone> = { success: 'good', partial: 'warning', failed: 'attention', awaiting_approval: 'warning', rejected: 'default', dry_run: 'accent', running: 'accent' };

/** One row of counters: "Groups: 3 created, 1 modified, …", in the order given. */
function counterRow(label: string, counts: Readonly<Record<string, number>>): CounterRow {
  return { label, values: Object.entries(counts).map(([name, n]) => ({ label: name, value: String(n) })) };
}

/** Whether a run's counters were applied, would be (dry run, held), or count nothing (failed, rejected). */
type Mode = 'applied' | 'would' | 'none';

function modeOf(r: RunRow): Mode {
  if (r.status === 'failed' || r.status === 'rejected') return 'none';
  if (r.status === 'dry_run' || r.status === 'awaiting_approval' || r.dryRun) return 'would';
  return 'applied';
}

function counters(r: RunRow, mode: Mode): CounterRow[] {
  if (mode === 'none') return [];
  const w = mode === 'would';
  return [
    counterRow('Groups', { [w ? 'to create' : 'created']: r.groupsCreated, [w ? 'to modify' : 'modified']: r.groupsModified, [w ? 'to delete' : 'deleted']: r.groupsDeleted, duplicated: r.groupsDuplicated }),
    counterRow('Users', {
      [w ? 'to create' : 'created']: r.usersCreated,
      [w ? 'to update' : 'updated']: r.usersUpdated,
      [w ? 'to deactivate' : 'deactivated']: r.usersDeactivated,
      conflicts: r.usersConflicts,
      ignored: r.usersIgnored,
    }),
    counterRow('Memberships', { [w ? 'to add' : 'added']: r.membershipsAdded, [w ? 'to remove' : 'removed']: r.membershipsRemoved }),
  ];
}

function countersTitle(r: RunRow, mode: Mode): string | null {
  if (mode === 'none') return null;
  if (mode === 'applied') return 'Changes';
  return r.status === 'awaiting_approval' ? 'Would change once approved' : 'Would change (nothing applied)';
}

/** The provisioning-console summary (impacted, success, unsynced, partial, failed): only for what was applied. */
function summaryRows(r: RunRow, mode: Mode): CounterRow[] {
  if (!r.summary || mode !== 'applied') return [];
  const row = (label: string, s: NonNullable<RunRow['summary']>['users']) =>
    counterRow(label, { impacted: s.impacted, success: s.success, unsynced: s.unsynced, partial: s.partial, failed: s.failed });
  return [row('Users', r.summary.users), row('Groups', r.summary.groups)];
}

const entries = (n: number) => (n === 1 ? '1 skipped entry' : `${n} skipped entries`);

function headline(r: RunRow): string {
  switch (r.status) {
    case 'success':
      return `Run #${r.id} of ${r.connection} ${r.dryRun ? 'would succeed (dry run): nothing was applied' : 'succeeded'}`;
    case 'partial':
      return `Run #${r.id} of ${r.connection} ${r.dryRun ? 'would apply (dry run)' : 'applied'}, with ${entries(r.skipped.length)}`;
    case 'failed':
      return `Run #${r.id} of ${r.connection} failed: nothing was applied`;
    case 'awaiting_approval':
      return `Run #${r.id} of ${r.connection} is held for approval: nothing applied yet`;
    case 'rejected':
      return `Run #${r.id} of ${r.connection} was rejected: nothing was applied`;
    case 'dry_run':
      return `Dry run #${r.id} of ${r.connection}: nothing was applied`;
    default:
      return `Run #${r.id} of ${r.connection} is running`;
  }
}

/** The status in words, saying whether anything was applied. */
function statusText(r: RunRow): string {
  switch (r.status) {
    case 'success':
      return r.dryRun ? 'would apply (dry run): nothing applied' : r.decidedBy ? `applied, approved by ${displayActor(r.decidedBy)}` : 'applied';
    case 'partial':
      return `${r.dryRun ? 'would apply (dry run)' : 'applied'}, with ${entries(r.skipped.length)}`;
    case 'failed':
      return 'failed: nothing applied';
    case 'awaiting_approval':
      return 'held for approval: nothing applied until an admin approves';
    case 'rejected':
      return `rejected${r.decidedBy ? ` by ${displayActor(r.decidedBy)}` : ''}: nothing applied`;
    case 'dry_run':
      return 'dry run: nothing applied';
    default:
      return r.status.replace('_', ' ');
  }
}

/** Outcome first: status, the error or the reason it was held, the skipped count. */
function outcome(r: RunRow, detailsOpen: boolean): Fact[] {
  return [
    { label: 'Status', value: statusText(r) },
    ...(r.error ? [{ label: r.status === 'awaiting_approval' || r.errorCode === 'THRESHOLD' ? 'Held because' : (r.errorCode ?? 'Error'), value: r.error }] : []),
    ...(r.skipped.length ? [{ label: 'Skipped', value: `${entries(r.skipped.length)}${detailsOpen ? '' : ' (Show details lists them)'}` }] : []),
  ];
}

/** An audit entry of the run, as a sentence with names (ops/audit-text.ts). */
export interface AuditEntry {
  readonly at: Date;
  readonly text: string;
}

const seconds = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s` : null);

/** What the run read and how long it took, in a line: "full (reconcile) · 12 requests, 0 retries · read 1.2 s, plan 0.3 s". */
export function statsText(stats: Readonly<Record<string, unknown>>): string | null {
  const s = stats;
  const mode = typeof s.readMode === 'string' ? `${s.readMode}${typeof s.readReason === 'string' ? ` (${s.readReason})` : ''}` : null;
  const failedAt = typeof s.phase === 'string' ? `stopped while ${s.phase}${typeof s.readPhase === 'string' ? ` (${s.readPhase}, ${String(s.readCount ?? 0)} read)` : ''}` : null;
  const requests = typeof s.requests === 'number' ? `${plural(s.requests, 'request')}, ${plural(Number(s.retries ?? 0), 'retry')}`.replace('retrys', 'retries') : null;
  const times = (
    [
      ['read', s.readMs],
      ['plan', s.planMs],
      ['apply', s.applyMs],
      ['after', s.ms],
    ] as const
  )
    .map(([label, ms]) => (seconds(ms) ? `${label} ${seconds(ms)}` : null))
    .filter(Boolean)
    .join(', ');
  const parts = [mode, failedAt, requests, times || null].filter((x): x is string => x !== null);
  return parts.length ? parts.join(' · ') : null;
}

/**
 * One run: outcome first, then counters worded for what happened, what a dry run would change
 * (when its plan is given), and the details (skipped entries, paged, and audit entries) when
 * they are asked for (`run <id>`, the "Show details" button).
 */
export function buildRun(
  r: RunRow,
  options: { audit?: { entries: readonly AuditEntry[]; total: number }; details?: boolean; skippedOffset?: number; notice?: NoticeView | null; plan?: SyncPlan | null } = {},
): RunView {
  const detailsOpen = options.details ?? options.audit !== undefined;
  const offset = clampOffset(options.skippedOffset ?? 0, r.skipped.length, PAGE_SIZES.skipped);
  const skippedPage = detailsOpen ? r.skipped.slice(offset, offset + PAGE_SIZES.skipped) : [];
  const mode = modeOf(r);
  const changes = options.plan && mode === 'would' ? planChanges(options.plan) : null;
  const buttons: ButtonView[] = [];
  if (r.status === 'awaiting_approval') {
    buttons.push({ label: 'Approve', verb: 'run.approve', data: { run: r.id }, style: 'positive' }, { label: 'Reject', verb: 'run.reject', data: { run: r.id }, style: 'destructive' });
  }
  if (r.status === 'failed' || r.status === 'partial') buttons.push({ label: 'Sync again', verb: 'sync.start', data: { connection: r.connection } });
  if (!detailsOpen) buttons.push({ label: 'Show details', verb: 'run.show', data: { run: r.id } });
  return {
    type: 'run',
    id: r.id,
    connection: r.connection,
    status: r.status,
    tone: RUN_TONE[r.status] ?? 'default',
    headline: headline(r),
    outcome: outcome(r, detailsOpen),
    facts: [
      { label: 'Trigger', value: `${r.trigger} by ${displayActor(r.actor)}` },
      { label: 'Started', value: formatTime(r.startedAt) },
      { label: 'Finished', value: formatTime(r.finishedAt) },
      ...(r.groupFilter.length ? [{ label: 'Groups', value: r.groupFilter.join(', ') }] : []),
      ...(r.kindFilter ? [{ label: 'Kind', value: r.kindFilter }] : []),
      ...(r.decidedBy ? [{ label: 'Decided', value: `by ${displayActor(r.decidedBy)}, ${formatTime(r.decidedAt)}` }] : []),
      ...(detailsOpen && statsText(r.stats) ? [{ label: 'Read', value: statsText(r.stats)! }] : []),
    ],
    countersTitle: countersTitle(r, mode),
    counters: counters(r, mode),
    summary: summaryRows(r, mode),
    changes: changes?.lines ?? [],
    changesNote: changes?.more ?? null,
    detailsOpen,
    skipped: skippedPage.map((s) => `${s.ref}: ${s.reason}`),
    skippedPager: detailsOpen ? pager('run.skipped', { run: r.id }, offset, skippedPage.length, r.skipped.length, PAGE_SIZES.skipped) : null,
    audit: options.audit ? options.audit.entries.map((a) => `${formatTime(a.at)}  ${a.text}`) : [],
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

const LIST_STATUS: Record<string, string> = { success: 'applied', partial: 'partial', failed: 'failed', awaiting_approval: 'held for approval', rejected: 'rejected', dry_run: 'dry run', running: 'running' };

/** The status of a run in the runs list, in a few words (the changes column says what was applied). */
function listStatus(r: RunRow): string {
  if (r.dryRun && r.status !== 'dry_run') return r.status === 'failed' ? 'dry run, failed' : 'dry run';
  return LIST_STATUS[r.status] ?? r.status.replace(/_/g, ' ');
}

/** A run's counters in one line, worded as the run card words them: applied, would, held, or nothing applied. */
function listChanges(r: RunRow): string {
  const mode = modeOf(r);
  if (mode === 'none') return `${r.status === 'rejected' ? 'rejected' : 'failed'} — nothing applied`;
  const counts = `groups +${r.groupsCreated} ~${r.groupsModified} −${r.groupsDeleted}; users +${r.usersCreated} ~${r.usersUpdated} −${r.usersDeactivated}; members +${r.membershipsAdded} −${r.membershipsRemoved}`;
  if (mode === 'applied') return counts;
  return r.status === 'awaiting_approval' ? `held — would: ${counts}` : `would: ${counts}`;
}

export function buildRuns(connection: string, runs: readonly RunRow[], offset: number, total: number, notice: NoticeView | null = null): RunsView {
  return {
    type: 'runs',
    connection,
    runs: runs.map((r) => ({
      id: r.id,
      status: listStatus(r),
      trigger: r.trigger,
      actor: displayActor(r.actor),
      started: formatTime(r.startedAt),
      changes: listChanges(r),
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

const APPROVAL_TITLES: Record<ApprovalView['state'], (r: RunRow) => string> = {
  pending: (r) => `Approval needed: run #${r.id} of ${r.connection}`,
  approved: (r) => `Approved: run #${r.id} of ${r.connection}`,
  rejected: (r) => `Rejected: run #${r.id} of ${r.connection}`,
  superseded: (r) => `No longer held: run #${r.id} of ${r.connection}`,
};

/** The approval card of a held run; once decided it says by whom and when, and has no buttons. */
export function buildApproval(r: RunRow, held: HeldDetails, notice: NoticeView | null = null): ApprovalView {
  const state: ApprovalView['state'] = r.status === 'awaiting_approval' ? 'pending' : r.status === 'rejected' ? 'rejected' : r.decidedBy ? 'approved' : 'superseded';
  const removals = r.groupsDeleted + r.usersDeactivated + r.membershipsRemoved;
  return {
    type: 'approval',
    runId: r.id,
    connection: r.connection,
    state,
    title: APPROVAL_TITLES[state](r),
    reason: held.reason ?? r.error ?? 'the plan removes more than the deletion threshold',
    facts: [
      { label: 'Groups to delete', value: String(r.groupsDeleted) },
      { label: 'Users to deactivate', value: String(r.usersDeactivated) },
      { label: 'Memberships to remove', value: String(r.membershipsRemoved) },
      { label: 'Groups to create', value: String(r.groupsCreated) },
      { label: 'Users to create', value: String(r.usersCreated) },
      { label: 'Memberships to add', value: String(r.membershipsAdded) },
      { label: 'Requested', value: `${r.trigger} by ${displayActor(r.actor)}, ${formatTime(r.startedAt)}` },
    ],
    sample: held.sample,
    sampleNote: held.sample.length < removals ? `a sample of ${held.sample.length} of ${removals} removals; the full plan: groupsync run ${r.id} --json` : null,
    decision:
      state === 'pending'
        ? null
        : state === 'superseded'
          ? `no longer held: the run is ${r.status}`
          : `${state} by ${displayActor(r.decidedBy)}, ${formatTime(r.decidedAt)}${state === 'approved' ? ` — run ${r.status}` : ': nothing was applied'}`,
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
