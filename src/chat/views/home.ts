/**
 * The Home view: a per-user dashboard (Slack's App Home). Admins see health, open incidents,
 * pending approvals and what is left to resolve; viewers health only; anyone else one line that
 * says who to ask. Built from the operations' data; no chat framework type here.
 */
import type { ConnectionHealth } from '../../health/health.ts';
import { describeReason } from '../../health/health.ts';
import type { ConnectionStatus, FailureContext } from '../../ops/operations.ts';
import type { IncidentRow } from '../../notify/incidents.ts';
import type { RunRow } from '../../store/runs.ts';
import { formatTime, plural } from './format.ts';
import { buildIncidents } from './read.ts';
import { buildApproval } from './runs.ts';
import type { ButtonView, NoticeView } from './types.ts';

export type HomeRole = 'admin' | 'viewer' | 'none';

/** How many of each list the home shows; the rest are counted, with the command that lists them. */
export const HOME_SHOWN = { connections: 20, incidents: 8, approvals: 5, resolve: 10 } as const;

export interface HomeConnectionView {
  readonly name: string;
  readonly kind: string;
  readonly status: 'green' | 'red';
  readonly paused: boolean;
  readonly reasons: readonly string[];
  readonly lastSync: string;
  readonly nextRun: string;
}

export interface HomeView {
  readonly type: 'home';
  readonly role: HomeRole;
  readonly title: string;
  /** What the home is; for someone who is neither admin nor viewer, the one line they see. */
  readonly intro: string;
  readonly updated: string;
  readonly notice: NoticeView | null;
  readonly health: { readonly status: 'green' | 'red'; readonly summary: string; readonly connections: readonly HomeConnectionView[]; readonly more: string | null };
  /** Admins only (empty for the others), as are approvals and resolve. */
  readonly incidents: ReadonlyArray<{ readonly title: string; readonly text: string; readonly buttons: readonly ButtonView[] }>;
  readonly incidentsNote: string | null;
  readonly approvals: ReadonlyArray<{ readonly runId: number; readonly title: string; readonly reason: string; readonly detail: string; readonly buttons: readonly ButtonView[] }>;
  /** Per connection with something to resolve: "1 conflict · 3 unmapped · 0 pending duplicates". */
  readonly resolve: ReadonlyArray<{ readonly connection: string; readonly counts: string; readonly buttons: readonly ButtonView[] }>;
  readonly resolveNote: string | null;
}

export interface HomeInput {
  readonly role: HomeRole;
  readonly userId: string;
  readonly now: Date;
  readonly notice?: NoticeView | null;
  readonly health?: readonly ConnectionHealth[];
  readonly incidents?: ReadonlyArray<{ incident: IncidentRow; context: FailureContext }>;
  readonly held?: ReadonlyArray<{ run: RunRow; held: { reason: string | null; sample: string[] } }>;
  readonly statuses?: readonly ConnectionStatus[];
}

const cut = (total: number, shown: number, what: string, command: string): string | null => (total > shown ? `${total - shown} more ${what}: ${command}` : null);

function healthPart(health: readonly ConnectionHealth[], now: Date): HomeView['health'] {
  const sorted = [...health].sort((a, b) => Number(b.status === 'red') - Number(a.status === 'red') || a.name.localeCompare(b.name));
  const red = sorted.filter((c) => c.status === 'red').length;
  return {
    status: red ? 'red' : 'green',
    summary: sorted.length ? `${plural(sorted.length, 'connection')}, ${red} red` : 'no connections are configured',
    connections: sorted.slice(0, HOME_SHOWN.connections).map((c) => ({
      name: c.name,
      kind: c.kind,
      status: c.status,
      paused: c.reasons.some((r) => r.code === 'paused'),
      reasons: c.reasons.map(describeReason),
      lastSync: formatTime(c.lastSyncAt, now),
      nextRun: formatTime(c.nextRunAt, now),
    })),
    more: cut(sorted.length, HOME_SHOWN.connections, 'connections', 'type "health"'),
  };
}

/** Only the buttons that lead somewhere from a home: the run, else the connection's status. */
const incidentButtons = (buttons: readonly ButtonView[]): ButtonView[] => {
  const run = buttons.find((b) => b.verb === 'run.show');
  const status = buttons.find((b) => b.verb === 'status.show');
  const pick = run ?? status;
  if (!pick) return [];
  const { origin: _origin, ...data } = pick.data;
  return [{ ...pick, label: run ? `Show run #${String(data.run)}` : `Status of ${String(data.connection)}`, data }];
};

function adminParts(input: HomeInput): Pick<HomeView, 'incidents' | 'incidentsNote' | 'approvals' | 'resolve' | 'resolveNote'> {
  // Held runs have a section of their own, with their buttons.
  const open = (input.incidents ?? []).filter((i) => i.incident.cause !== 'awaiting_approval');
  const incidents = buildIncidents(open.slice(0, HOME_SHOWN.incidents)).items.map((i) => ({ title: i.title, text: i.text, buttons: incidentButtons(i.buttons) }));
  const held = input.held ?? [];
  const approvals = held.slice(0, HOME_SHOWN.approvals).map(({ run, held: h }) => {
    const a = buildApproval(run, h);
    const removals = run.groupsDeleted + run.usersDeactivated + run.membershipsRemoved;
    return {
      runId: run.id,
      title: a.title,
      reason: a.reason,
      detail: `${plural(removals, 'removal')} · requested ${formatTime(run.startedAt, input.now)}`,
      buttons: a.buttons.filter((b) => b.verb === 'run.approve' || b.verb === 'run.reject'),
    };
  });
  const pending = (input.statuses ?? []).filter((s) => s.conflicts + s.unmapped + s.pendingDuplicates > 0);
  const resolve = pending.slice(0, HOME_SHOWN.resolve).map((s) => ({
    connection: s.name,
    counts: `${plural(s.conflicts, 'conflict')} · ${s.unmapped} unmapped · ${plural(s.pendingDuplicates, 'pending duplicate')}`,
    buttons: [
      ...(s.conflicts + s.unmapped ? [{ label: `Conflicts of ${s.name}`, verb: 'conflicts.show', data: { connection: s.name } }] : []),
      ...(s.pendingDuplicates ? [{ label: `Duplicates of ${s.name}`, verb: 'duplicates.show', data: { connection: s.name } }] : []),
    ],
  }));
  return {
    incidents,
    incidentsNote: cut(open.length, HOME_SHOWN.incidents, 'open incidents', 'type "incidents"'),
    approvals,
    resolve,
    resolveNote: cut(pending.length, HOME_SHOWN.resolve, 'connections with users to resolve', 'type "conflicts CONNECTION"'),
  };
}

export function buildHome(input: HomeInput): HomeView {
  const empty = { incidents: [], incidentsNote: null, approvals: [], resolve: [], resolveNote: null };
  const updated = `Updated ${formatTime(input.now, input.now)}`;
  if (input.role === 'none') {
    return {
      type: 'home',
      role: 'none',
      title: 'groupsync',
      intro: `You are not a groupsync viewer; ask an admin to add ${input.userId} to chat.viewers (or chat.admins) in the config file.`,
      updated,
      notice: input.notice ?? null,
      health: { status: 'green', summary: '', connections: [], more: null },
      ...empty,
    };
  }
  return {
    type: 'home',
    role: input.role,
    title: input.role === 'admin' ? 'groupsync — admin home' : 'groupsync — sync health',
    intro:
      input.role === 'admin'
        ? 'Health, open incidents, runs awaiting approval and users to resolve; refreshed when they change.'
        : 'The health of every connection; refreshed when it changes. Type "help" in a message to groupsync for the commands.',
    updated,
    notice: input.notice ?? null,
    health: healthPart(input.health ?? [], input.now),
    ...(input.role === 'admin' ? adminParts(input) : empty),
  };
}
