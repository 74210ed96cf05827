/** The alert card of an incident: open with the next steps, or resolved with how. */
import type { IncidentRow } from '../../notify/incidents.ts';
import { formatTime } from './format.ts';
import type { AlertView, ButtonView } from './types.ts';

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
