/** Views of the read commands: directory users, the audit log, the open incidents and `why`. */
import { conflictReason } from '../../domain/conflict.ts';
import type { IncidentRow } from '../../notify/incidents.ts';
import type { AuditItem, AuditQuery, DirectoryUserRow, FailureContext, Page, UsersQuery, WhyAnswer } from '../../ops/operations.ts';
import { formatTime, pager, plural } from './format.ts';
import { buildAlert } from './incidents.ts';
import type { AuditView, ButtonView, IncidentsView, NoticeView, PagerView, UsersView, WhyView } from './types.ts';

export const READ_PAGE_SIZES = { users: 10, audit: 15 } as const;

/** Incidents on one card: three blocks each keeps a Slack message under its 50 blocks. */
export const INCIDENTS_SHOWN = 12;

/** A pager whose buttons use `verb` (users.page, audit.page) with the filter in their data. */
function pagerWith(verb: string, params: Record<string, string | number>, page: Page<unknown>, size: number): PagerView | null {
  const p = pager('', params, page.offset, page.items.length, page.total, size);
  const strip = (b: ButtonView | null): ButtonView | null => {
    if (!b) return null;
    const { view: _view, ...data } = b.data;
    return { ...b, verb, data };
  };
  return p ? { ...p, previous: strip(p.previous), next: strip(p.next) } : null;
}

const defined = (o: Record<string, string | null | undefined>) => Object.fromEntries(Object.entries(o).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));

function userState(u: DirectoryUserRow): string {
  const flags = [...(u.enabled ? [] : ['disabled']), ...(u.inScope ? [] : ['out of scope'])];
  const base =
    u.status === 'mapped' && u.localUser
      ? `mapped → local user #${u.localUser.id}${u.localUser.login ? ` ${u.localUser.login}` : ''}${u.localUser.active ? '' : ' (deactivated)'}`
      : u.status === 'ignored'
        ? 'ignored'
        : u.status === 'conflict'
          ? `conflict: ${conflictReason(u.candidates)}`
          : `${u.status}${u.reason ? `: ${u.reason}` : ''}`;
  return flags.length ? `${base} · ${flags.join(', ')}` : base;
}

export function buildUsers(page: Page<DirectoryUserRow> & { connection: string }, query: UsersQuery, n: NoticeView | null = null): UsersView {
  const filter = [...(query.status ? [`status ${query.status}`] : []), ...(query.search ? [`matching "${query.search}"`] : [])].join(' · ');
  return {
    type: 'users',
    connection: page.connection,
    filter,
    total: page.total,
    summary: page.total ? `${plural(page.total, 'user')}${filter ? ` (${filter})` : ''}, by login.` : `No directory user${filter ? ` (${filter})` : ''}.`,
    items: page.items.map((u) => ({
      user: u.login ?? u.displayName ?? u.mail ?? u.directoryId,
      detail: [u.displayName, u.mail].filter(Boolean).join(' · ') || u.directoryId,
      status: u.status,
      state: userState(u),
    })),
    pager: pagerWith('users.page', { connection: page.connection, ...defined({ status: query.status, search: query.search }) }, page, READ_PAGE_SIZES.users),
    notice: n,
  };
}

export function buildAudit(page: Page<AuditItem>, query: AuditQuery, n: NoticeView | null = null): AuditView {
  const filter = [
    ...(query.user ? [`user ${query.user}`] : []),
    ...(query.group ? [`group ${query.group}`] : []),
    ...(query.actor ? [`by ${query.actor}`] : []),
    ...(query.since ? [`since ${query.since}`] : []),
  ].join(' · ');
  const entries = page.total === 1 ? '1 entry' : `${page.total} entries`;
  return {
    type: 'audit',
    title: `Audit log${query.connection ? ` of ${query.connection}` : ''}`,
    filter,
    total: page.total,
    summary: page.total ? `${entries}${filter ? ` (${filter})` : ''}, newest first.` : `No audit entries${filter ? ` (${filter})` : ''}.`,
    // One call to the product's time format, so the format can change in one place.
    entries: page.items.map((e) => ({ at: formatTime(e.at), text: e.text, details: e.details })),
    pager: pagerWith('audit.page', { ...defined({ connection: query.connection, user: query.user, group: query.group, actor: query.actor, since: query.since }) }, page, READ_PAGE_SIZES.audit),
    notice: n,
  };
}

export function buildIncidents(list: ReadonlyArray<{ incident: IncidentRow; context: FailureContext }>, n: NoticeView | null = null): IncidentsView {
  const more = list.length > INCIDENTS_SHOWN ? `; the newest ${INCIDENTS_SHOWN} are shown (\`groupsync incidents\` lists them all)` : '';
  return {
    type: 'incidents',
    total: list.length,
    summary: list.length ? `${plural(list.length, 'open incident')}, newest first${more}.` : 'No open incidents: every connection and linked group is fine.',
    items: list.slice(0, INCIDENTS_SHOWN).map(({ incident, context }) => {
      const alert = buildAlert(incident, context);
      return { title: alert.title, text: alert.text, facts: alert.facts, buttons: alert.buttons };
    }),
    notice: n,
  };
}

/** Groups named in one line, and blocks of groups on one card, at most: a user in hundreds of linked groups stays readable. */
export const WHY_GROUPS_SHOWN = 20;

const namesOf = (names: readonly string[]) => `${names.slice(0, WHY_GROUPS_SHOWN).join(', ')}${names.length > WHY_GROUPS_SHOWN ? ` and ${names.length - WHY_GROUPS_SHOWN} more` : ''}`;

type WhyBlock = WhyView['groups'][number];

/**
 * Every linked group of the user: the groups it is in, and those with a reason of their own, one
 * block each (the first WHY_GROUPS_SHOWN); the groups it is not in for the common reason (its
 * mapping keeps it out of all of them, or the directory did not list it) in one block.
 */
function everyGroup(a: WhyAnswer, block: (g: WhyAnswer['groups'][number]) => WhyBlock): WhyBlock[] {
  const plain = a.groups.filter((g) => g.plain);
  const own = plain.length > 1 ? a.groups.filter((g) => !g.plain) : a.groups;
  const blocks = own.slice(0, WHY_GROUPS_SHOWN).map(block);
  const rest = own.slice(WHY_GROUPS_SHOWN);
  if (rest.length) blocks.push({ heading: `${plural(rest.length, 'more linked group')}`, reason: 'not shown one by one: ask about one with "why <user> <group>"', facts: [{ label: 'Groups', value: namesOf(rest.map((g) => `${g.group} (${g.member ? 'member' : 'not a member'})`)) }] });
  if (plain.length > 1) {
    blocks.push({
      heading: `Not a member of ${plural(plain.length, 'linked group')}`,
      // The mapping is said once, in its fact above.
      reason: a.blocker === null ? 'not a member of them in the directory at the last sync' : a.blocker === a.mapping.text ? 'its mapping (above) keeps it out of them' : a.blocker,
      facts: [{ label: 'Groups', value: namesOf(plain.map((g) => g.group)) }],
    });
  }
  return blocks;
}

export function buildWhy(a: WhyAnswer, n: NoticeView | null = null): WhyView {
  const who = a.user.login ?? a.user.mail ?? a.user.directoryId;
  const one = a.groups.length === 1 && a.groups[0] ? a.groups[0] : null;
  const title = one ? `${who} is ${one.member ? '' : 'not '}a member of ${one.group}` : `Why ${who} is in the groups of ${a.connection}`;
  return {
    type: 'why',
    title,
    tone: one ? (one.member ? 'good' : 'warning') : 'default',
    facts: [
      { label: 'User', value: [a.user.displayName, a.user.mail, a.user.dn].filter(Boolean).join(' · ') || a.user.directoryId },
      { label: 'Connection', value: a.connection },
      { label: 'Mapping', value: a.mapping.resolvedAt ? `${a.mapping.text} (${formatTime(a.mapping.resolvedAt)})` : a.mapping.text },
      { label: 'Directory account', value: `${a.user.enabled ? 'enabled' : 'disabled'}, ${a.user.inScope ? 'in scope' : 'out of scope'}` },
      ...(one ? [] : [{ label: 'Local groups', value: a.localGroups.join(', ') || 'none' }]),
    ],
    groups: everyGroup(a, (g) => ({
      heading: `${g.group}: ${g.member ? 'member' : 'not a member'}`,
      reason: g.reason,
      facts: [
        ...(g.path ? [{ label: 'Directory path', value: g.path.join(' → ') }] : g.pathNote ? [{ label: 'Directory path', value: g.pathNote }] : []),
        { label: 'Link', value: g.link },
        ...(g.lastChange
          ? [{ label: 'Last change', value: `${g.lastChange.runId !== null ? `run #${g.lastChange.runId}` : 'by hand'}: ${g.lastChange.added ? 'added' : 'removed'} by ${g.lastChange.actorName}, ${formatTime(g.lastChange.at)}` }]
          : one
            ? [{ label: 'Last change', value: 'none recorded' }]
            : []),
      ],
    })),
    buttons: one?.lastChange?.runId ? [{ label: `Show run #${one.lastChange.runId}`, verb: 'run.show', data: { run: one.lastChange.runId } }] : [],
    notice: n,
  };
}
