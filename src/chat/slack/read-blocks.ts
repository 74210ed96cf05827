/**
 * Block Kit parts of the read commands' views (users, audit, incidents, why), in the vocabulary of
 * blocks.ts, which lays them out within Slack's limits. Kept apart so blocks.ts stays readable;
 * the part shapes are those of blocks.ts (structurally the same type).
 */
import { bold, e, factLine } from './kit.ts';
import type { AuditView, ButtonView, Fact, IncidentsView, NoticeView, PagerView, UsersView, View, WhyView } from '../views/types.ts';

export type ReadPart =
  | { readonly kind: 'header'; readonly text: string }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'fields'; readonly fields: readonly Fact[] }
  | { readonly kind: 'context'; readonly text: string }
  | { readonly kind: 'divider' }
  | { readonly kind: 'buttons'; readonly buttons: readonly ButtonView[]; readonly subject: string | null };

const factLines = (facts: readonly Fact[]) => facts.map(factLine).join('\n');

const TONE_ICON = { good: '✅', attention: '🔴', warning: '⚠️', accent: '🔵', default: 'ℹ️' } as const;

const noticeParts = (n: NoticeView | null): ReadPart[] => (n ? [{ kind: 'text', text: `${TONE_ICON[n.tone]} *${e(n.text)}*` }] : []);
const buttonParts = (buttons: readonly ButtonView[], subject: string | null): ReadPart[] => (buttons.length ? [{ kind: 'buttons', buttons, subject }] : []);
const pagerParts = (p: PagerView | null, what: string): ReadPart[] => {
  if (!p) return [];
  const buttons = [p.previous, p.next].filter((b): b is ButtonView => b !== null);
  return [{ kind: 'context', text: `${p.from}–${p.to} of ${p.total}` }, ...buttonParts(buttons, what)];
};

function usersParts(view: UsersView): ReadPart[] {
  return [
    { kind: 'header', text: `Directory users of ${view.connection}` },
    ...noticeParts(view.notice),
    { kind: 'context', text: e(view.summary) },
    // One section for the page: ten users stay well inside the 3,000 characters of a section.
    ...(view.items.length ? [{ kind: 'text', text: view.items.map((i) => `${bold(i.user)} · ${e(i.state)}\n${e(i.detail)}`).join('\n\n') } as ReadPart] : []),
    ...pagerParts(view.pager, 'users'),
  ];
}

function auditParts(view: AuditView): ReadPart[] {
  return [
    { kind: 'header', text: view.title },
    ...noticeParts(view.notice),
    { kind: 'context', text: e(view.summary) },
    ...(view.entries.length ? [{ kind: 'text', text: view.entries.map((x) => `${e(x.text)}\n_${e(x.at)} · ${e(x.details)}_`).join('\n\n') } as ReadPart] : []),
    ...pagerParts(view.pager, 'audit entries'),
  ];
}

function incidentsParts(view: IncidentsView): ReadPart[] {
  return [
    { kind: 'header', text: 'Open incidents' },
    ...noticeParts(view.notice),
    { kind: 'text', text: view.total ? e(view.summary) : `✅ ${e(view.summary)}` },
    ...view.items.flatMap((i): ReadPart[] => [
      { kind: 'divider' },
      { kind: 'text', text: `🔴 ${bold(i.title)}\n${e(i.text)}${i.facts.length ? `\n${factLines(i.facts)}` : ''}` },
      ...buttonParts(i.buttons, i.title),
    ]),
  ];
}

function whyParts(view: WhyView): ReadPart[] {
  return [
    { kind: 'header', text: `${TONE_ICON[view.tone]} ${view.title}` },
    ...noticeParts(view.notice),
    { kind: 'text', text: factLines(view.facts) },
    ...view.groups.flatMap((g): ReadPart[] => [{ kind: 'divider' }, { kind: 'text', text: `${bold(g.heading)}\n${e(g.reason)}${g.facts.length ? `\n${factLines(g.facts)}` : ''}` }]),
    ...buttonParts(view.buttons, null),
  ];
}

type ReadView = UsersView | AuditView | IncidentsView | WhyView;

export function isReadView(view: View): view is ReadView {
  return view.type === 'users' || view.type === 'audit' || view.type === 'incidents' || view.type === 'why';
}

export function readParts(view: ReadView): ReadPart[] {
  switch (view.type) {
    case 'users':
      return usersParts(view);
    case 'audit':
      return auditParts(view);
    case 'incidents':
      return incidentsParts(view);
    case 'why':
      return whyParts(view);
  }
}
