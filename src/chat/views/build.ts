/**
 * Builds the neutral views from the operations' data. Pure functions: the same data always
 * gives the same view, so both renderers and the tests see exactly the same facts. Runs and
 * approvals are in runs.ts, alerts in incidents.ts, shared helpers in format.ts.
 */
import type { ConnectionHealth } from '../../health/health.ts';
import { describeReason } from '../../health/health.ts';
import type { ConflictItem, ConnectionStatus, DuplicateItem, LocalUserSummary, Page } from '../../ops/operations.ts';
import { PAGE_SIZES, clampOffset, formatTime, pager, plural, relativeTime } from './format.ts';
import type { ButtonView, CandidateView, ConflictsView, DuplicatesView, Fact, HealthView, MessageView, NoticeView, StatusView, Tone } from './types.ts';

export function buildMessage(title: string, text: string, tone: Tone = 'default', facts: Fact[] = [], buttons: ButtonView[] = []): MessageView {
  return { type: 'message', title, tone, text, facts, buttons };
}

/** Health of everything: connections red first, then one page of links, red first. */
export function buildHealth(health: readonly ConnectionHealth[], requestedOffset = 0, notice: NoticeView | null = null, size: number = PAGE_SIZES.health): HealthView {
  const connections = [...health].sort((a, b) => Number(b.status === 'red') - Number(a.status === 'red') || a.name.localeCompare(b.name));
  const allLinks = connections
    .flatMap((c) => c.links.map((l) => ({ l, c })))
    .sort((a, b) => Number(b.l.status === 'red') - Number(a.l.status === 'red') || a.c.name.localeCompare(b.c.name) || a.l.name.localeCompare(b.l.name));
  const offset = clampOffset(requestedOffset, allLinks.length, size);
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
      members: l.members === null ? '…' : String(l.members),
      lastSync: formatTime(l.lastSyncAt),
      reasons: l.reasons.map(describeReason).join('; ') || 'ok',
    })),
    pager: pager('health', {}, offset, page.length, allLinks.length, size),
    notice,
  };
}

export function adType(kind: string, vendor: string | null, file: string | null = null): string {
  if (kind === 'entra') return 'Azure';
  if (kind === 'ldif' || vendor === 'ldif') return file ? `LDIF file ${file.split(/[\\/]/).pop()}` : 'LDIF file';
  if (vendor === 'active-directory') return 'Active Directory';
  if (vendor === 'openldap') return 'OpenLDAP';
  if (vendor === '389ds') return '389 Directory Server';
  return 'LDAP';
}

export function buildStatus(s: ConnectionStatus, notice: NoticeView | null = null): StatusView {
  return {
    type: 'status',
    name: s.name,
    status: s.health,
    reasons: s.reasons.map(describeReason),
    facts: [
      { label: 'Enabled', value: s.enabled ? 'yes' : 'no' },
      ...(s.paused ? [{ label: 'Paused', value: `since ${formatTime(s.paused.since)} by ${s.paused.by} (resume ${s.name})` }] : []),
      { label: 'AD type', value: adType(s.kind, s.vendor, s.file ?? null) },
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
    ...attemptStrip(s.lastAttempts),
    runningSince: s.runningSince ? formatTime(s.runningSince) : null,
    buttons: [
      { label: 'Sync now', verb: 'sync.start', data: { connection: s.name } },
      { label: 'Full resync', verb: 'sync.start', data: { connection: s.name, full: 1 } },
      { label: 'Conflicts', verb: 'conflicts.show', data: { connection: s.name } },
      { label: 'Duplicates', verb: 'duplicates.show', data: { connection: s.name } },
      { label: 'Run history', verb: 'runs.show', data: { connection: s.name } },
    ],
    notice,
  };
}

/** The icon of each run status in the attempts strip, and what it means. */
export const STATUS_ICONS: Readonly<Record<string, readonly [string, string]>> = {
  success: ['✅', 'applied'],
  partial: ['⚠️', 'applied with skipped entries'],
  failed: ['❌', 'failed'],
  awaiting_approval: ['⏸', 'held for approval'],
  rejected: ['🚫', 'rejected'],
  dry_run: ['🔍', 'dry run'],
  running: ['🔄', 'running'],
};

type Attempt = ConnectionStatus['lastAttempts'][number];

function attemptStrip(attempts: readonly Attempt[]): Pick<StatusView, 'strip' | 'legend' | 'lastError'> {
  const icon = (status: string) => STATUS_ICONS[status]?.[0] ?? '•';
  const failed = attempts.find((a) => a.error);
  const used = [...new Set(attempts.map((a) => a.status))];
  return {
    strip: attempts.map((a) => `${icon(a.status)} #${a.id} ${relativeTime(new Date(a.startedAt), new Date())}`).join(' · '),
    legend: used.map((s) => `${icon(s)} ${STATUS_ICONS[s]?.[1] ?? s.replace('_', ' ')}`).join(' · '),
    lastError: failed ? `#${failed.id}, ${formatTime(failed.startedAt)}: ${failed.error}` : null,
  };
}

const MAX_CANDIDATE_BUTTONS = 4;

/** A local candidate as an admin chooses it: name, then id, mail, active or not, last activity, where mapped. */
export function candidateView(c: LocalUserSummary): CandidateView {
  const name = c.displayName ?? c.login ?? c.mail ?? `#${c.id}`;
  const detail = [
    `#${c.id}`,
    ...(c.login && c.login !== name ? [c.login] : []),
    c.mail ?? 'no mail',
    c.active ? 'active' : 'inactive',
    c.lastActivityAt ? `last activity ${formatTime(c.lastActivityAt)}` : 'no activity recorded',
    ...(c.mappedIn.length ? [`mapped in ${c.mappedIn.join(', ')}`] : []),
  ].join(' · ');
  return { id: c.id, name, detail };
}

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
          ? (c.candidates.length ? `${plural(c.candidates.length, 'local candidate')}:` : 'another directory user has the same key') +
            (hidden ? ` (${hidden} without a button: use "map ${c.login ?? c.directoryId} #id")` : '')
          : (c.reason ?? 'no local user matches');
      const data = { connection, user: c.directoryId, offset: page.offset };
      return {
        directoryId: c.directoryId,
        user: c.displayName ? `${c.displayName} (${c.login ?? c.directoryId})` : (c.login ?? c.directoryId),
        detail: [c.mail, c.dn].filter(Boolean).join(' · ') || c.directoryId,
        status: c.status,
        reason,
        candidates: c.candidates.map(candidateView),
        buttons: [
          ...shown.map((x) => ({
            label: `Map to ${x.login ?? x.mail ?? `#${x.id}`}`,
            verb: 'conflict.map',
            data: { ...data, local: x.id },
            style: 'positive' as const,
          })),
          { label: 'Ignore', verb: 'conflict.ignore', data },
        ],
        pick: { label: 'Or map to any local user', placeholder: 'Search by name, login or mail', verb: 'conflict.map', data, field: 'local', dataset: 'localUsers' as const },
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
      localGroup:
        d.localGroupId === null
          ? 'the local group no longer exists'
          : `#${d.localGroupId} ${d.localGroupName ?? ''} (${plural(d.localMembers, 'member')}) · ${d.owner ? `synced from ${d.owner}` : 'not synced from any connection'}`,
      detected: formatTime(d.detectedAt),
      buttons: [
        // A local group fed by another connection cannot take a second source: only the other resolutions are offered.
        ...(d.localGroupId !== null && (d.owner === null || d.owner === connection)
          ? [{ label: 'Link to existing', verb: 'duplicate.link', data: { connection, id: d.id, offset: page.offset }, style: 'positive' as const }]
          : []),
        { label: `Sync as "${d.name} (${connection})"`, verb: 'duplicate.separate', data: { connection, id: d.id, offset: page.offset } },
        { label: 'Ignore', verb: 'duplicate.ignore', data: { connection, id: d.id, offset: page.offset } },
      ],
    })),
    pager: pager('duplicates', { connection }, page.offset, page.items.length, page.total, page.limit),
    notice,
  };
}
