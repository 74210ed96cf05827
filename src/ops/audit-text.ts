/**
 * Audit entries as sentences an admin reads: "Ana Lima deactivated user jdoe (Jane Doe)" rather
 * than "user.deactivated user 105". Pure: the names come resolved from the store; ids stay in
 * the entry's details. Used by chat and by the CLI alike.
 */
import type { AuditPageRow } from '../store/audit-log.ts';

/** A chat actor is stored as `surface:Name (id)`, or `surface:(id)` when the surface gave no name. */
const CHAT_ACTOR = /^(teams|slack):(.*?)\s*\(([^()]*)\)$/;

/** The actor as a person reads it: the display name where known, else what was recorded. */
export function actorDisplay(actor: string, knownName: string | null = null): string {
  const chat = CHAT_ACTOR.exec(actor);
  if (chat) return chat[2] || knownName || `${chat[1]} user ${chat[3]}`;
  const cli = /^cli:(.+)$/.exec(actor);
  return cli ? `${cli[1]} (CLI)` : actor;
}

const VERBS: Record<string, string> = {
  'user.created': 'created user',
  'user.updated': 'updated user',
  'user.disabled': 'disabled user',
  'user.reactivated': 'reactivated user',
  'user.deactivated': 'deactivated user',
  'user.mapped': 'mapped user',
  'user.ignored': 'ignored directory user',
  'user.unignored': 'took back directory user',
  'user.conflict': 'found a conflict for directory user',
  'group.created': 'created group',
  'group.modified': 'modified group',
  'group.recreated': 'recreated group',
  'group.deleted': 'deleted group',
  'group.duplicate_detected': 'found a duplicate of group',
  'group.members_changed': 'changed the members of group',
  'link.created': 'linked directory group',
  'link.removed': 'unlinked directory group',
  'duplicate.linked': 'linked the duplicate directory group',
  'duplicate.ignored': 'ignored the duplicate directory group',
  'duplicate.separated': 'synced the duplicate directory group',
  'connection.paused': 'paused connection',
  'connection.resumed': 'resumed connection',
  'run.approved': 'approved run',
  'run.rejected': 'rejected run',
  'run.bulk_created': 'created in bulk, in run',
  'connection.removed': 'removed connection',
  'alerts.subscribed': 'subscribed to alerts:',
  'alerts.unsubscribed': 'unsubscribed from alerts:',
};

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** What the entry is about: a name from the store, else from the entry's own details, else its id. */
export function targetText(e: AuditPageRow): string {
  const b = obj(e.before);
  const a = obj(e.after);
  if (e.targetType === 'run') return `#${e.targetId}`;
  if (e.targetType === 'connection' || e.targetType === 'conversation') return e.targetId;
  const name = e.targetName ?? str(b.login) ?? str(a.login) ?? str(b.name) ?? str(a.name);
  const display = e.targetDisplayName ?? str(a.displayName) ?? str(b.displayName);
  if (!name) return `#${e.targetId}`;
  return display && display !== name ? `${name} (${display})` : name;
}

/** The sentence of an entry; `members` names the local users of a membership change by id. */
export function auditSentence(e: AuditPageRow, members: ReadonlyMap<number, string> = new Map()): string {
  const who = actorDisplay(e.actor, e.actorName);
  const verb = VERBS[e.action] ?? `${e.action} ${e.targetType.replace('_', ' ')}`;
  let text = `${who} ${verb} ${targetText(e)}`;
  if (e.action === 'group.members_changed') text += membersText(e, members);
  if (e.action === 'user.mapped' && e.targetType === 'directory_user') text += ` to local user ${localUserText(obj(e.after).localUserId, members)}`;
  if (e.action === 'duplicate.separated' && str(obj(e.after).localGroupName)) text += ` as a separate local group ${String(obj(e.after).localGroupName)}`;
  if (e.action === 'user.deactivated' && str(obj(e.after).reason)) text += `: ${String(obj(e.after).reason)}`;
  if (e.action === 'run.bulk_created') {
    const a = obj(e.after);
    text += `: ${String(a.users ?? 0)} users, ${String(a.groups ?? 0)} groups, ${String(a.memberships ?? 0)} memberships`;
  }
  return text;
}

/** "jdoe (#1596)" where the login is known, else "#1596". */
function localUserText(id: unknown, members: ReadonlyMap<number, string>): string {
  if (typeof id !== 'number') return '#?';
  const login = members.get(id);
  return login ? `${login} (#${id})` : `#${id}`;
}

function membersText(e: AuditPageRow, members: ReadonlyMap<number, string>): string {
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
  const names = (idsOf: number[]) => {
    const shown = idsOf.slice(0, 5).map((id) => members.get(id) ?? `#${id}`);
    return idsOf.length > 5 ? `${shown.join(', ')} and ${idsOf.length - 5} more` : shown.join(', ');
  };
  const added = list(obj(e.after).added);
  const removed = list(obj(e.before).removed);
  const parts = [...(added.length ? [`added ${names(added)}`] : []), ...(removed.length ? [`removed ${names(removed)}`] : [])];
  return parts.length ? `: ${parts.join('; ')}` : '';
}

/** The local user ids an entry names: a membership change's members, the local user of a mapping. */
export function memberIdsOf(e: AuditPageRow): number[] {
  if (e.action === 'user.mapped' && e.targetType === 'directory_user') {
    const id = obj(e.after).localUserId;
    return typeof id === 'number' ? [id] : [];
  }
  if (e.action !== 'group.members_changed') return [];
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
  return [...list(obj(e.after).added).slice(0, 5), ...list(obj(e.before).removed).slice(0, 5)];
}

/** The ids an entry is about, for its details line: "user #105 · run #42 · corp". */
export function auditDetails(e: AuditPageRow): string {
  const parts = [`${e.targetType.replace('_', ' ')} ${e.targetType.startsWith('directory') ? e.targetId : `#${e.targetId}`}`];
  if (e.runId !== null && !(e.targetType === 'run' && e.targetId === String(e.runId))) parts.push(`run #${e.runId}`);
  if (e.connection) parts.push(e.connection);
  parts.push(e.actor);
  return parts.join(' · ');
}

/** `2h`, `30m`, `7d`, `1w` before `now`, or an ISO date; null when it is neither. */
export function parseSince(text: string, now: Date): Date | null {
  const rel = /^(\d{1,6})\s*(m|min|h|d|w)$/i.exec(text.trim());
  if (rel) {
    const unit = { m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2]!.toLowerCase() as 'm'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return null;
  const d = new Date(text.trim());
  return Number.isNaN(d.getTime()) ? null : d;
}
