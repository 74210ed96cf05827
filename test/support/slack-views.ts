/**
 * One fixture set of neutral views, built from plain data with the functions of
 * src/chat/views/build.ts: every view type (and the resolved alert), with names that need
 * escaping (R&D <Ops>), pagers and buttons. Rendered by both surfaces in the parity test and by
 * the Block Kit renderer's own tests.
 */
import type { ConnectionHealth } from '../../src/health/health.ts';
import type { IncidentRow } from '../../src/notify/incidents.ts';
import type { ConflictItem, ConnectionStatus, DuplicateItem, Page } from '../../src/ops/operations.ts';
import type { RunRow } from '../../src/store/runs.ts';
import {
  buildAlert,
  buildApproval,
  buildConflicts,
  buildDuplicates,
  buildHealth,
  buildHelp,
  buildMessage,
  buildProgress,
  buildRun,
  buildRuns,
  buildStatus,
  notice,
} from '../../src/chat/views/build.ts';
import type { View } from '../../src/chat/views/types.ts';

const T0 = new Date('2025-03-04T05:06:00Z');
const T1 = new Date('2025-03-04T05:07:00Z');

export function runRow(overrides: Partial<RunRow> = {}): RunRow {
  return {
    id: 42,
    connection: 'corp',
    trigger: 'chat',
    actor: 'slack:alice (UADMIN1)',
    dryRun: false,
    kindFilter: null,
    groupFilter: [],
    status: 'success',
    startedAt: T0,
    finishedAt: T1,
    errorCode: null,
    error: null,
    groupsCreated: 3,
    groupsModified: 1,
    groupsDeleted: 0,
    groupsDuplicated: 2,
    usersCreated: 17,
    usersUpdated: 4,
    usersDeactivated: 1,
    usersConflicts: 2,
    usersIgnored: 0,
    membershipsAdded: 25,
    membershipsRemoved: 6,
    summary: { users: { impacted: 22, success: 20, unsynced: 2, partial: 0, failed: 0 }, groups: { impacted: 4, success: 4, unsynced: 0, partial: 0, failed: 0 } },
    skipped: [],
    stats: {},
    decidedBy: null,
    decidedAt: null,
    ...overrides,
  };
}

export function healthData(connections = 2): ConnectionHealth[] {
  return Array.from({ length: connections }, (_, i) => ({
    name: i === 0 ? 'corp' : `branch-${i}`,
    kind: 'ldap',
    enabled: true,
    status: i === 0 ? ('red' as const) : ('green' as const),
    reasons: i === 0 ? [{ code: 'conflicts_pending' as const, count: 2 }] : [],
    ssl: { state: i === 0 ? ('ok' as const) : ('none' as const), validTo: i === 0 ? new Date('2026-01-01T00:00:00Z') : null },
    syncedUsers: 120 + i,
    conflicts: i === 0 ? 2 : 0,
    lastSyncAt: T0,
    nextRunAt: T1,
    lastAttempts: [],
    links: [
      { id: 1 + i * 10, connection: i === 0 ? 'corp' : `branch-${i}`, name: 'R&D <Ops>', dn: 'cn=R&D <Ops>,ou=groups,dc=example,dc=org', kind: 'security', status: i === 0 ? ('red' as const) : ('green' as const), reasons: i === 0 ? [{ code: 'conflicts_pending' as const, count: 2 }] : [], lastSyncAt: T0, nextRunAt: T1, members: 14 },
      { id: 2 + i * 10, connection: i === 0 ? 'corp' : `branch-${i}`, name: 'app-ops', dn: 'cn=app-ops,ou=groups,dc=example,dc=org', kind: 'group', status: 'green' as const, reasons: [], lastSyncAt: T0, nextRunAt: T1, members: 3 },
    ],
  }));
}

export const STATUS_DATA: ConnectionStatus = {
  name: 'corp',
  kind: 'ldap',
  vendor: 'openldap',
  enabled: true,
  schedule: 'every 1 h after the last sync',
  linkedGroups: 5,
  syncedUsers: 123,
  conflicts: 2,
  unmapped: 1,
  ignored: 0,
  pendingDuplicates: 2,
  ssl: { state: 'ok', validTo: '2026-01-01T00:00:00.000Z', detail: null },
  lastSyncAt: T0,
  lastRunAt: T0,
  runningSince: null,
  lastAttempts: [
    { id: 42, status: 'success', startedAt: T0, finishedAt: T1, trigger: 'chat', error: null },
    { id: 41, status: 'failed', startedAt: T0, finishedAt: T1, trigger: 'schedule', error: 'Invalid credentials for cn=admin' },
  ],
  health: 'red',
  reasons: [{ code: 'conflicts_pending', count: 2 }],
  nextRunAt: T1,
  quarantinedAt: null,
  consecutiveFailures: 0,
};

export function conflictItems(n: number): ConflictItem[] {
  return Array.from({ length: n }, (_, i) => ({
    directoryId: `0c6b1e2a-0000-4000-8000-${String(i).padStart(12, '0')}`,
    dn: `uid=user${i},ou=people,dc=example,dc=org`,
    login: i === 0 ? 'jdoe' : `user${i}`,
    mail: i === 0 ? 'shared@example.org' : `user${i}@example.org`,
    displayName: i === 0 ? 'John <Doe> & Co' : `User ${i}`,
    status: i % 3 === 2 ? ('unmapped' as const) : ('conflict' as const),
    reason: i % 3 === 2 ? 'no local user has this mail' : null,
    candidates: i % 3 === 2 ? [] : [
      { id: 11 + i * 2, login: `jdoe${i}a`, mail: 'shared@example.org', displayName: null },
      { id: 12 + i * 2, login: `jdoe${i}b`, mail: 'SHARED@example.org', displayName: null },
    ],
  }));
}

export function duplicateItems(n: number): DuplicateItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: 7 + i,
    directoryId: `dup-${i}`,
    dn: `cn=developers${i ? i : ''},ou=groups,dc=example,dc=org`,
    name: i === 0 ? 'developers' : `developers${i}`,
    localGroupId: 3 + i,
    localGroupName: i === 0 ? 'Developers' : `Developers${i}`,
    localMembers: 4,
    detectedAt: T0,
  }));
}

const page = <T>(items: T[], total = items.length, offset = 0, limit = 10): Page<T> => ({ items, total, offset, limit });

export function incidentRow(overrides: Partial<IncidentRow> = {}): IncidentRow {
  return {
    id: 9,
    connection: 'corp',
    linkId: null,
    cause: 'run_failed',
    status: 'open',
    runId: 42,
    details: { error: 'Invalid credentials for cn=admin,dc=example,dc=org', code: 'DIRECTORY_AUTH_FAILED' },
    deliveries: [],
    openedAt: T0,
    resolvedAt: null,
    ...overrides,
  };
}

/** Every view type, named. */
export function fixtureViews(): Array<{ name: string; view: View }> {
  const held = runRow({ id: 43, status: 'awaiting_approval', error: 'the plan removes 12 memberships, more than the limit of 5', errorCode: 'THRESHOLD', groupsDeleted: 2, membershipsRemoved: 12, usersDeactivated: 1 });
  return [
    { name: 'help', view: buildHelp() },
    { name: 'help with notice', view: buildHelp(notice('attention', '"stauts" is not a command')) },
    { name: 'health', view: buildHealth(healthData(2)) },
    { name: 'health paged', view: buildHealth(healthData(12), 20) },
    { name: 'status', view: buildStatus(STATUS_DATA) },
    { name: 'run success', view: buildRun(runRow()) },
    {
      name: 'run partial with skipped and audit',
      view: buildRun(runRow({ status: 'partial', skipped: Array.from({ length: 20 }, (_, i) => ({ ref: `uid=u${i},ou=people`, reason: 'no mail & no login' })) }), {
        audit: { entries: [{ at: T0, actor: 'slack:alice (UADMIN1)', action: 'user.created', targetType: 'user', targetId: '17' }], total: 40 },
      }),
    },
    { name: 'run failed', view: buildRun(runRow({ status: 'failed', error: 'Invalid credentials', errorCode: 'DIRECTORY_AUTH_FAILED' })) },
    { name: 'progress', view: buildProgress('corp', 42, 'Sync of corp: run #42 in progress', [{ label: 'read users', value: '120' }, { label: 'plan', value: 'started' }]) },
    { name: 'runs', view: buildRuns('corp', [runRow(), runRow({ id: 41, status: 'failed', error: 'Invalid credentials' })], 0, 12) },
    { name: 'conflicts', view: buildConflicts('corp', page(conflictItems(3), 13)) },
    { name: 'conflicts empty', view: buildConflicts('corp', page([], 0)) },
    { name: 'conflicts resolved notice', view: buildConflicts('corp', page(conflictItems(1), 1), notice('warning', 'jdoe was already resolved by slack:alice (UADMIN1) at 2025-03-04 05:06 UTC')) },
    { name: 'duplicates', view: buildDuplicates('corp', page(duplicateItems(2), 2)) },
    { name: 'approval pending', view: buildApproval(held, { reason: held.error, sample: ['remove bob from app-ops', 'delete group cycle-b'] }) },
    { name: 'approval rejected', view: buildApproval({ ...held, status: 'rejected', decidedBy: 'slack:alice (UADMIN1)', decidedAt: T1 }, { reason: held.error, sample: [] }) },
    { name: 'alert', view: buildAlert(incidentRow()) },
    { name: 'alert resolved', view: buildAlert(incidentRow({ status: 'resolved', resolvedAt: T1, details: { error: 'x', resolution: { runId: 44 } } })) },
    { name: 'alert approval', view: buildAlert(incidentRow({ cause: 'awaiting_approval', runId: 43, details: { reason: 'too many removals' } })) },
    { name: 'message', view: buildMessage('Not allowed', '"map" changes the directory sync, so it is for groupsync admins only', 'attention', [{ label: 'By', value: 'slack:victor (UVIEW01)' }], [{ label: 'Status', verb: 'status.show', data: { connection: 'corp' } }]) },
  ];
}

export interface ViewFacts {
  /** Every string and number a view carries for display, as text. */
  readonly texts: string[];
  readonly buttons: Array<{ label: string; verb: string; data: Record<string, unknown> }>;
}

const NOT_SHOWN = new Set(['type', 'tone', 'style', 'verb', 'data', 'adminOnly', 'state', 'incidentId', 'directoryId', 'runId', 'id']);

/** What a view says and which buttons it has, read from the view tree itself. */
export function viewFacts(view: View): ViewFacts {
  const texts: string[] = [];
  const buttons: ViewFacts['buttons'] = [];
  const walk = (node: unknown, key: string | null) => {
    if (node === null || node === undefined) return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, key));
    if (typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (typeof o.verb === 'string' && typeof o.label === 'string') {
        buttons.push({ label: o.label, verb: o.verb, data: o.data as Record<string, unknown> });
        return;
      }
      for (const [k, v] of Object.entries(o)) walk(v, k);
      return;
    }
    if (key && NOT_SHOWN.has(key)) return;
    if (typeof node === 'string' && node.trim()) texts.push(node);
    if (typeof node === 'number') texts.push(String(node));
  };
  walk(view, null);
  return { texts, buttons };
}
