/**
 * View → Adaptive Card (schema 1.5): each view type has a template in cards/, filled by
 * adaptivecards-templating. This module only adds what a template cannot compute well (colours,
 * icons, button lists without holes) and a plain-text fallback for notifications.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ACData from 'adaptivecards-templating';
import { neutralView } from '../views/format.ts';
import { summarize } from '../views/summary.ts';
import type { ButtonView, CounterRow, NoticeView, PagerView, PickView, Tone, View } from '../views/types.ts';

export const CARDS_DIR = path.resolve(import.meta.dirname, '..', '..', '..', 'cards');

export type TemplateName = View['type'] | 'resolved';
export const TEMPLATE_NAMES: readonly TemplateName[] = ['help', 'health', 'status', 'run', 'progress', 'runs', 'conflicts', 'duplicates', 'approval', 'alert', 'resolved', 'message', 'users', 'audit', 'incidents', 'why'];

const templates = new Map<TemplateName, ACData.Template>();

export function loadTemplate(name: TemplateName): ACData.Template {
  let t = templates.get(name);
  if (!t) {
    t = new ACData.Template(JSON.parse(readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')));
    templates.set(name, t);
  }
  return t;
}

export type AdaptiveCardJson = { type: 'AdaptiveCard'; version: string; body: unknown[]; actions?: unknown[]; [key: string]: unknown };

/** Text colours: never the host's yellow ("Warning" is unreadable on a white theme); a warning reads by its icon and words. */
const TONE_COLOR: Record<Tone, string> = { good: 'Good', attention: 'Attention', warning: 'Default', accent: 'Accent', default: 'Default' };
const TONE_STYLE: Record<Tone, string> = { good: 'good', attention: 'attention', warning: 'warning', accent: 'accent', default: 'emphasis' };
const STATUS_COLOR: Record<string, string> = {
  red: 'Attention',
  green: 'Good',
  success: 'Good',
  partial: 'Default',
  failed: 'Attention',
  awaiting_approval: 'Default',
  rejected: 'Default',
  dry_run: 'Accent',
  running: 'Accent',
  conflict: 'Attention',
  unmapped: 'Default',
};
const colorOf = (status: string) => STATUS_COLOR[status.split(' ')[0]!] ?? 'Default';
const iconOf = (status: string) => (status === 'red' ? '🔴' : '🟢');

const button = (b: ButtonView) => ({ label: b.label, verb: b.verb, data: b.data, style: b.style ?? 'default' });
const buttons = (list: readonly ButtonView[]) => list.map(button);
const noticeData = (n: NoticeView | null) => (n ? { text: n.text, color: TONE_COLOR[n.tone], style: TONE_STYLE[n.tone] } : null);
/**
 * A typeahead: an Input.ChoiceSet (its id `input`) whose choices come from the bot (Data.Query →
 * invoke application/search), and the Action.Execute that sends the choice: every input of the
 * card comes with it, so its data names the one that counts (`pickInput`) and where the choice
 * goes (`pickField`); the command layer reads them (chat/commands/actions.ts).
 */
const pickData = (p: PickView | null, input: string) =>
  p ? { input, label: p.label, placeholder: p.placeholder, dataset: p.dataset, verb: p.verb, submit: 'Map to the chosen user', data: { ...p.data, pickInput: input, pickField: p.field } } : null;
const pagerData = (p: PagerView | null) => (p ? { from: p.from, to: p.to, total: p.total, buttons: buttons([p.previous, p.next].filter((b): b is ButtonView => b !== null)) } : null);

/**
 * Adaptive Card text is markdown: a directory name such as "[Click here](https://evil)" would
 * become a link in an admin's card. A zero-width space between "]" and "(" breaks the link
 * syntax without changing what is read. (Only links: names, logins and error codes with "_" or
 * "*" must stay exactly as typed, so an admin can copy them into a command.)
 */
export function plainText(text: string): string {
  return text.replace(/\]\s*\(/g, (m) => `${m.slice(0, -1)}\u200B(`);
}

/** Strings of the data as plain text; a button's verb and data stay exactly as they are. */
function plainData(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return key === 'verb' || key === 'style' || key === 'color' ? value : plainText(value);
  if (Array.isArray(value)) return value.map((v) => plainData(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'data' ? v : plainData(v, k)]));
  }
  return value;
}

const counterLine = (r: CounterRow) => ({ label: r.label, text: r.values.map((v) => `${v.value} ${v.label}`).join(' · ') });

/** What the template sees: the view, with colours, icons and button lists ready. */
export function templateData(view: View): Record<string, unknown> {
  return plainData(dataOf(view)) as Record<string, unknown>;
}

function dataOf(view: View): Record<string, unknown> {
  switch (view.type) {
    case 'users':
      return { ...view, notice: noticeData(view.notice), items: view.items.map((i) => ({ ...i, color: colorOf(i.status) })), pager: pagerData(view.pager) };
    case 'audit':
      return { ...view, notice: noticeData(view.notice), pager: pagerData(view.pager) };
    case 'incidents':
      return { ...view, notice: noticeData(view.notice), items: view.items.map((i) => ({ ...i, buttons: buttons(i.buttons) })) };
    case 'why':
      return { ...view, color: TONE_COLOR[view.tone], notice: noticeData(view.notice), buttons: buttons(view.buttons) };
    case 'help':
      return { ...view, notice: noticeData(view.notice) };
    case 'health':
      return {
        ...view,
        color: colorOf(view.status),
        notice: noticeData(view.notice),
        connections: view.connections.map((c) => ({ ...c, color: colorOf(c.status), icon: iconOf(c.status), buttons: buttons(c.buttons) })),
        links: view.links.map((l) => ({ ...l, color: colorOf(l.status), icon: iconOf(l.status) })),
        pager: pagerData(view.pager),
      };
    case 'status':
      return {
        ...view,
        color: colorOf(view.status),
        icon: iconOf(view.status),
        notice: noticeData(view.notice),
        buttons: buttons(view.buttons),
      };
    case 'run':
      return {
        ...view,
        color: TONE_COLOR[view.tone],
        notice: noticeData(view.notice),
        // A compact grid: one row per kind, "3 created · 1 modified · …" beside it (as Slack's fields).
        counterRows: view.counters.map(counterLine),
        summaryRows: view.summary.map(counterLine),
        skippedPager: pagerData(view.skippedPager),
        buttons: buttons(view.buttons),
      };
    case 'progress':
      return { ...view, notice: noticeData(view.notice) };
    case 'runs':
      return { ...view, notice: noticeData(view.notice), runs: view.runs.map((r) => ({ ...r, color: colorOf(r.status), button: button(r.button) })), pager: pagerData(view.pager) };
    case 'conflicts':
      return {
        ...view,
        notice: noticeData(view.notice),
        items: view.items.map((i, n) => ({ ...i, color: colorOf(i.status), buttons: buttons(i.buttons), pick: pickData(i.pick, `pick${n}`) })),
        pager: pagerData(view.pager),
      };
    case 'duplicates':
      return { ...view, notice: noticeData(view.notice), items: view.items.map((i) => ({ ...i, buttons: buttons(i.buttons) })), pager: pagerData(view.pager) };
    case 'approval':
      return {
        ...view,
        color: view.state === 'rejected' ? 'Attention' : view.state === 'approved' ? 'Good' : 'Default',
        reasonText: `${view.state === 'pending' ? '⏸ Held: ' : 'Held: '}${view.reason}`,
        decisionColor: view.state === 'approved' ? 'Good' : 'Default',
        notice: noticeData(view.notice),
        buttons: buttons(view.buttons),
      };
    case 'alert':
      return { ...view, notice: noticeData(view.notice), buttons: buttons(view.buttons) };
    case 'message':
      return { ...view, color: TONE_COLOR[view.tone], buttons: buttons(view.buttons) };
  }
}

export function templateOf(view: View): TemplateName {
  return view.type === 'alert' && view.state === 'resolved' ? 'resolved' : view.type;
}

/** The Adaptive Card for a view. */
export function renderCard(view: View): AdaptiveCardJson {
  return loadTemplate(templateOf(view)).expand({ $root: templateData(neutralView(view)) }) as AdaptiveCardJson;
}

/** One line for notifications and clients that cannot show cards. */
export const fallbackText = (view: View): string => summarize(neutralView(view));
