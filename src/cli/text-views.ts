/**
 * The neutral views (src/chat/views) as terminal text: the CLI shows the same facts as the Teams
 * card and the Slack message of a view, within WIDTH columns (tables narrow their widest columns
 * and wrap them). Buttons become the commands that do the same (`groupsync approve 42`).
 */
import { neutralView } from '../chat/views/format.ts';
import { summarize } from '../chat/views/summary.ts';
import type { ButtonView, CounterRow, Fact, NoticeView, PagerView, View } from '../chat/views/types.ts';
import { table, wrapLine } from './table.ts';

export const WIDTH = 100;

export interface TextOptions {
  /** Health: list green links too (red ones always are). */
  readonly allLinks?: boolean;
  /** Columns to fit in (WIDTH by default). */
  readonly width?: number;
}

/** The width of the view being drawn (views are drawn synchronously, one at a time). */
let width = WIDTH;

/** A paragraph wrapped to WIDTH, each line after the first indented by `indent`. */
export function wrap(text: string, indent = ''): string[] {
  return text.split('\n').flatMap((line, i) => {
    // A line's own leading spaces are kept (wrapLine splits at spaces and would drop them).
    const lead = (i ? indent : '') + /^ */.exec(line)![0];
    return wrapLine(line.trimStart(), width - Math.max(lead.length, indent.length)).map((l, k) => (k ? indent : lead) + l);
  });
}

/** "Label: value" cells in as many aligned columns as fit (at most three). */
export function factsGrid(facts: readonly Fact[]): string[] {
  if (!facts.length) return [];
  const cells = facts.map((f) => `${f.label}: ${f.value}`);
  const cell = Math.max(...cells.map((c) => c.length));
  const columns = Math.min(3, Math.max(1, Math.floor((width + 3) / (cell + 3))));
  if (columns === 1) return cells.flatMap((c) => wrap(c, '    '));
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += columns) lines.push(cells.slice(i, i + columns).map((c) => c.padEnd(cell)).join('   ').trimEnd());
  return lines;
}

/** Counter rows, one line each: "Groups       created 3 · modified 1 · deleted 0". */
function counterLines(rows: readonly CounterRow[]): string[] {
  const pad = Math.max(0, ...rows.map((r) => r.label.length)) + 2;
  return rows.flatMap((r) => wrap(`${r.label.padEnd(pad)}${r.values.map((v) => `${v.label} ${v.value}`).join(' · ')}`, ' '.repeat(pad)));
}

const noticeLines = (n: NoticeView | null): string[] => (n ? wrap(`» ${n.text}`, '  ') : []);

const pagerLine = (p: PagerView | null, what: string): string[] => (p ? [`${what} ${p.from}–${p.to} of ${p.total}`] : []);

/** The command a button stands for, when the CLI has one. */
export function commandOf(b: ButtonView): string | null {
  const d = b.data;
  const quote = (v: unknown) => (/^[\w@.#:=,-]+$/.test(String(v)) ? String(v) : `"${String(v).replace(/"/g, '\\"')}"`);
  switch (b.verb) {
    case 'run.approve':
      return `approve ${d.run}`;
    case 'run.reject':
      return `reject ${d.run}`;
    case 'run.show':
      return `run ${d.run}`;
    case 'sync.start':
      return `sync ${quote(d.connection)}${d.full ? ' --full' : ''}`;
    case 'status.show':
      return `status ${quote(d.connection)}`;
    case 'conflicts.show':
      return `conflicts ${quote(d.connection)}`;
    case 'duplicates.show':
      return `duplicates ${quote(d.connection)}`;
    case 'runs.show':
      return `runs ${quote(d.connection)}`;
    case 'conflict.map':
      return `map ${quote(d.user)} '#${d.local}' -c ${quote(d.connection)}`;
    case 'conflict.ignore':
      return `ignore ${quote(d.user)} -c ${quote(d.connection)}`;
    case 'duplicate.link':
      return `duplicate link ${d.id}`;
    case 'duplicate.ignore':
      return `duplicate ignore ${d.id}`;
    case 'duplicate.separate':
      return `duplicate separate ${d.id}`;
    default:
      return null;
  }
}

/** "next: groupsync approve 42 · groupsync reject 42" for the buttons the CLI can follow. */
function nextLine(buttons: readonly ButtonView[], label = 'next'): string[] {
  const commands = buttons.map(commandOf).filter((c): c is string => c !== null);
  if (!commands.length) return [];
  // A command is never split across lines: each line takes as many whole commands as fit.
  const lines = [`${label}:`];
  for (const c of commands.map((x) => `groupsync ${x}`)) {
    const last = lines.at(-1)!;
    const joined = `${last}${last.endsWith(':') ? ' ' : ' · '}${c}`;
    if ([...joined].length <= width || last.endsWith(':')) lines[lines.length - 1] = joined;
    else lines.push(`  ${c}`);
  }
  return lines.flatMap((l) => wrap(l, '    '));
}

const upper = (status: string) => status.replace(/_/g, ' ').toUpperCase();

function statusText(v: Extract<View, { type: 'status' }>): string[] {
  return [
    ...wrap(`${v.name}  ${upper(v.status)}`),
    ...noticeLines(v.notice),
    ...v.reasons.flatMap((r) => wrap(`  • ${r}`, '    ')),
    ...factsGrid(v.facts),
    ...(v.runningSince ? [`a sync is running since ${v.runningSince}`] : []),
    ...(v.strip ? wrap(`Last attempts: ${v.strip}`, '  ') : ['Last attempts: none yet']),
    ...(v.legend ? wrap(`  ${v.legend}`, '  ') : []),
    ...(v.lastError ? wrap(`Last error: ${v.lastError}`, '  ') : []),
    ...nextLine(v.buttons),
  ];
}

function runText(v: Extract<View, { type: 'run' }>): string[] {
  return [
    `run #${v.id} ${v.connection}: ${upper(v.status)}`,
    ...wrap(v.headline),
    ...noticeLines(v.notice),
    ...factsGrid(v.outcome),
    ...factsGrid(v.facts),
    ...(v.countersTitle && v.counters.length ? ['', `${v.countersTitle}:`, ...counterLines(v.counters)] : []),
    ...(v.changes.length ? ['', ...v.changes.flatMap((c) => wrap(`  ${c}`, '    ')), ...(v.changesNote ? wrap(`  ${v.changesNote}`, '    ') : [])] : []),
    ...(v.summary.length ? ['', 'Summary (impacted, success, unsynced, partial, failed):', ...counterLines(v.summary)] : []),
    ...(v.skipped.length ? ['', `Skipped:`, ...v.skipped.flatMap((s) => wrap(`  ${s}`, '    ')), ...pagerLine(v.skippedPager, '  showing')] : []),
    ...(v.audit.length || v.auditNote ? ['', 'Audit:', ...v.audit.flatMap((a) => wrap(`  ${a}`, '    ')), ...(v.auditNote ? wrap(`  ${v.auditNote}`, '    ') : [])] : []),
    ...nextLine(v.buttons),
  ];
}

function healthText(v: Extract<View, { type: 'health' }>, options: TextOptions): string[] {
  const lines = [...wrap(`Sync health: ${upper(v.status)} — ${v.summary}`), ...noticeLines(v.notice)];
  for (const c of v.connections) {
    const links = `${c.linkCount} linked group${c.linkCount === 1 ? '' : 's'} (${c.redLinkCount} red)`;
    lines.push(...wrap(`${c.status === 'red' ? 'RED  ' : 'green'}  ${c.name} (${c.kind})  ${links}  last sync ${c.lastSync}  next run ${c.nextRun}  SSL ${c.ssl}`, '       '));
    lines.push(...c.reasons.flatMap((r) => wrap(`         • ${r}`, '           ')));
  }
  const links = options.allLinks ? v.links : v.links.filter((l) => l.status === 'red');
  if (links.length) {
    lines.push(table(['link', 'connection', 'status', 'kind', 'members', 'last sync', 'reasons'], links.map((l) => [l.name, l.connection, l.status, l.kind, l.members, l.lastSync, l.reasons]), width));
  }
  if (options.allLinks) lines.push(...pagerLine(v.pager, 'links'));
  const green = v.links.length - v.links.filter((l) => l.status === 'red').length;
  if (!options.allLinks && green) lines.push(`${green} green link${green === 1 ? '' : 's'} (--all to list them)`);
  return lines;
}

function conflictsText(v: Extract<View, { type: 'conflicts' }>): string[] {
  return [
    ...wrap(`${v.connection}: ${v.summary}`),
    ...noticeLines(v.notice),
    ...(v.items.length ? [table(['user', 'status', 'details', 'candidates / reason'], v.items.map((i) => [i.user, i.status, i.detail, i.reason]), width)] : []),
    ...v.items.flatMap((i) => [
      ...i.candidates.flatMap((c) => wrap(`  ${i.user} → candidate ${c.name}: ${c.detail}`, '      ')),
      ...nextLine(i.buttons, `  ${i.user}`),
    ]),
    ...pagerLine(v.pager, 'showing'),
  ];
}

function duplicatesText(v: Extract<View, { type: 'duplicates' }>): string[] {
  return [
    ...wrap(`${v.connection}: ${v.summary}`),
    ...noticeLines(v.notice),
    ...(v.items.length ? [table(['id', 'directory group', 'existing local group', 'detected'], v.items.map((d) => [d.id, `${d.name}\n${d.directoryRef}`, d.localGroup, d.detected]), width)] : []),
    ...(v.items.length ? ['resolve with: groupsync duplicate link|separate|ignore <id>'] : []),
    ...pagerLine(v.pager, 'showing'),
  ];
}

function runsText(v: Extract<View, { type: 'runs' }>): string[] {
  if (!v.runs.length) return [`${v.connection}: no runs yet`];
  return [
    `Runs of ${v.connection}`,
    ...noticeLines(v.notice),
    // The error goes under the changes, so that a long one does not squeeze the changes column.
    table(['run', 'status', 'trigger', 'actor', 'started', 'changes / error'], v.runs.map((r) => [`#${r.id}`, r.status, r.trigger, r.actor, r.started, r.error ? `${r.changes}\n${r.error}` : r.changes]), width),
    ...pagerLine(v.pager, 'showing'),
  ];
}

function approvalText(v: Extract<View, { type: 'approval' }>): string[] {
  return [
    `run #${v.runId} ${v.connection}: ${v.state === 'pending' ? 'AWAITING APPROVAL' : upper(v.state)}`,
    ...wrap(v.title),
    ...noticeLines(v.notice),
    ...wrap(v.reason),
    ...factsGrid(v.facts),
    ...(v.sample.length ? ['Sample:', ...v.sample.flatMap((s) => wrap(`  ${s}`, '    '))] : []),
    ...(v.sampleNote ? wrap(v.sampleNote) : []),
    ...(v.decision ? wrap(v.decision) : []),
    ...nextLine(v.buttons),
  ];
}

/** "showing 21–40 of 134", or the total where the list has one page. */
const totalLine = (p: PagerView | null, total: number): string[] => (p ? pagerLine(p, 'showing') : [`total ${total}`]);

function usersText(v: Extract<View, { type: 'users' }>): string[] {
  return [
    ...wrap(`${v.connection}: ${v.summary}`),
    ...noticeLines(v.notice),
    ...(v.items.length ? [table(['user', 'details', 'status', 'mapping'], v.items.map((i) => [i.user, i.detail, i.status, i.state]), width)] : []),
    ...totalLine(v.pager, v.total),
  ];
}

function auditText(v: Extract<View, { type: 'audit' }>): string[] {
  return [
    ...wrap(v.title),
    ...wrap(v.summary),
    ...noticeLines(v.notice),
    ...v.entries.flatMap((e) => [...wrap(`${e.at}  ${e.text}`, '    '), ...wrap(`    ${e.details}`, '    ')]),
    ...totalLine(v.pager, v.total),
  ];
}

function incidentsText(v: Extract<View, { type: 'incidents' }>): string[] {
  return [
    ...wrap(v.summary),
    ...noticeLines(v.notice),
    ...v.items.flatMap((i) => ['', ...wrap(i.title), ...wrap(i.text), ...factsGrid(i.facts), ...nextLine(i.buttons)]),
    ...totalLine(null, v.total),
  ];
}

function whyText(v: Extract<View, { type: 'why' }>): string[] {
  return [
    ...wrap(v.title),
    ...noticeLines(v.notice),
    ...factsGrid(v.facts),
    ...v.groups.flatMap((g) => ['', ...wrap(g.heading), ...wrap(`  ${g.reason}`, '    '), ...factsGrid(g.facts)]),
    ...nextLine(v.buttons),
  ];
}

function helpText(v: Extract<View, { type: 'help' }>): string[] {
  return [v.title, ...noticeLines(v.notice), ...wrap(v.intro), ...v.commands.flatMap((c) => [`  ${c.usage}${c.adminOnly ? '  (admin)' : ''}`, ...wrap(`      ${c.summary}; e.g. ${c.example}`, '      ')])];
}

/** A view as lines of text, at most WIDTH columns each (a table's cell wraps to fit). */
export function viewLines(view: View, options: TextOptions = {}): string[] {
  width = options.width ?? WIDTH;
  try {
    // Directory text made visible before tables measure it ([U+202E] takes 8 columns, U+202E none).
    return linesOf(neutralView(view), options);
  } finally {
    width = WIDTH;
  }
}

function linesOf(view: View, options: TextOptions): string[] {
  switch (view.type) {
    case 'status':
      return statusText(view);
    case 'run':
      return runText(view);
    case 'health':
      return healthText(view, options);
    case 'conflicts':
      return conflictsText(view);
    case 'duplicates':
      return duplicatesText(view);
    case 'runs':
      return runsText(view);
    case 'approval':
      return approvalText(view);
    case 'help':
      return helpText(view);
    case 'users':
      return usersText(view);
    case 'audit':
      return auditText(view);
    case 'incidents':
      return incidentsText(view);
    case 'why':
      return whyText(view);
    case 'progress':
      return [...wrap(view.text), ...factsGrid(view.steps)];
    case 'alert':
      return [...wrap(view.title), ...wrap(view.text), ...view.items.map((i) => `  • ${i}`), ...(view.more ? [view.more] : []), ...factsGrid(view.facts), ...nextLine(view.buttons)];
    case 'message':
      return [...wrap(view.title), ...wrap(view.text), ...factsGrid(view.facts), ...nextLine(view.buttons)];
    default:
      return genericLines(view);
  }
}

/** A view this module does not know yet: its summary line and its facts. */
function genericLines(view: View): string[] {
  const facts = (view as { facts?: readonly Fact[] }).facts;
  return [...wrap(summarize(view)), ...(Array.isArray(facts) ? factsGrid(facts) : [])];
}

export function viewText(view: View, options: TextOptions = {}): string {
  return viewLines(view, options).join('\n');
}
