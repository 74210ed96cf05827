/** The alert card of an incident: open with the next steps, or resolved with how. */
import type { IncidentRow, LinkRedDetails } from '../../notify/incidents.ts';
import { buildMessage } from './build.ts';
import { displayActor, formatTime, plural } from './format.ts';
import type { AlertView, ButtonView, MessageView } from './types.ts';

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

const CAUSE_COUNTS: Record<string, string> = {
  conflicts_pending: 'with user conflicts pending',
  duplicate_pending: 'with a duplicate pending',
};

/** A grouped `link_red` incident (one per connection); earlier incidents named one link each. */
function groupedLinks(d: Details): LinkRedDetails | null {
  return typeof d.total === 'number' && Array.isArray(d.links) ? (d as unknown as LinkRedDetails) : null;
}

function linkLine(l: LinkRedDetails['links'][number]): string {
  return `${l.name}: ${l.reasons.join('; ') || 'red'}`;
}

/** The text and list of a grouped alert: one red link in the text, more listed (the first ones) with a count of the rest. */
function linkRedBody(g: LinkRedDetails, open: boolean): { text: string; items: string[]; more: string | null } {
  if (g.total === 1 && g.links[0]) return { text: linkLine(g.links[0]), items: [], more: null };
  const causes = Object.entries(g.causes).map(([code, n]) => `${n} ${CAUSE_COUNTS[code] ?? code}`);
  const why = causes.length ? ` (${causes.join(', ')})` : '';
  if (!open) return { text: `${g.total} linked groups were red for a cause of their own${why}; none is now.`, items: [], more: null };
  const text = `${g.total} linked groups are red for a cause of their own${why}.`;
  const rest = g.total - g.links.length;
  return { text, items: g.links.map(linkLine), more: rest > 0 ? `…and ${rest} more: type "health" to see them all` : null };
}

function titleOf(i: IncidentRow): string {
  const g = i.cause === 'link_red' ? groupedLinks(i.details as Details) : null;
  const cause = g && g.total > 1 ? `${g.total} linked groups need attention` : (CAUSE_TITLES[i.cause] ?? i.cause);
  return `${i.status === 'resolved' ? 'Resolved: ' : ''}${cause} — ${i.connection}`;
}

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

/** Consecutive failures, next retry and last success: shown on an open alert of a failing connection. */
export interface AlertContext {
  readonly consecutiveFailures: number;
  readonly nextRunAt: Date | null;
  readonly lastSuccessAt: Date | null;
}

function contextFacts(context: AlertContext | undefined, open: boolean) {
  if (!context || !open) return [];
  return [
    ...(context.consecutiveFailures > 0 ? [{ label: 'Consecutive failures', value: String(context.consecutiveFailures) }] : []),
    { label: context.consecutiveFailures > 0 ? 'Next retry' : 'Next run', value: context.nextRunAt ? formatTime(context.nextRunAt) : 'not scheduled' },
    { label: 'Last success', value: context.lastSuccessAt ? formatTime(context.lastSuccessAt) : 'never' },
  ];
}

/** An alert card for an incident: open with the obvious next steps, or resolved; with the connection's failure context when given. */
export function buildAlert(i: IncidentRow, context?: AlertContext): AlertView {
  const d = i.details as Details;
  const grouped = i.cause === 'link_red' ? groupedLinks(d) : null;
  const body = grouped ? linkRedBody(grouped, i.status === 'open') : { text: incidentText(i), items: [], more: null };
  const buttons: ButtonView[] = [];
  if (i.status === 'open') {
    if (i.cause === 'awaiting_approval' && i.runId) {
      buttons.push({ label: 'Approve', verb: 'run.approve', data: { run: i.runId }, style: 'positive' }, { label: 'Reject', verb: 'run.reject', data: { run: i.runId }, style: 'destructive' });
    } else if (i.cause === 'link_red') {
      buttons.push({ label: 'Conflicts', verb: 'conflicts.show', data: { connection: i.connection } }, { label: 'Duplicates', verb: 'duplicates.show', data: { connection: i.connection } });
      // The card names the first links; the health view pages through all of them.
      if (body.more) buttons.push({ label: 'Health', verb: 'page', data: { view: 'health', offset: 0 } });
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
      ? `${resolution.status === 'rejected' ? 'Rejected' : 'Approved'} by ${displayActor(String(resolution.decidedBy))}`
      : resolution.runId
        ? `Run #${String(resolution.runId)} succeeded`
        : resolution.reason
          ? String(resolution.reason)
          : 'The cause is gone';
  return {
    type: 'alert',
    incidentId: i.id,
    state: i.status,
    title: titleOf(i),
    connection: i.connection,
    ...body,
    facts: [
      { label: 'Connection', value: i.connection },
      { label: 'Opened', value: formatTime(i.openedAt) },
      ...(i.runId ? [{ label: 'Run', value: `#${i.runId}` }] : []),
      ...contextFacts(context, i.status === 'open'),
      ...(i.status === 'resolved' ? [{ label: 'Resolved', value: `${formatTime(i.resolvedAt)}: ${resolvedText}` }] : []),
    ],
    buttons: fromAlert,
    notice: null,
  };
}

/**
 * The one message a conversation gets, per window, for the alerts beyond its cap: how many were
 * not posted, and where to see them. Updated in place as the count grows.
 */
export function buildAlertOverflow(count: number, cap: { readonly posts: number; readonly windowMs: number }): MessageView {
  const minutes = Math.max(1, Math.round(cap.windowMs / 60_000));
  return buildMessage(
    `${plural(count, 'more alert')} not posted here`,
    `This conversation gets at most ${cap.posts} alert messages per ${minutes === 1 ? 'minute' : `${minutes} minutes`}. Type "health" for every connection and linked group; \`groupsync incidents\` lists every open alert.`,
    'warning',
    [],
    [{ label: 'Health', verb: 'page', data: { view: 'health', offset: 0 } }],
  );
}
