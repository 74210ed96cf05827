/**
 * View → Block Kit: a pure function per view type, with fallback text for notifications. Each view
 * is described here as a list of parts (header, text, fields, buttons…); kit.ts lays them out
 * within Slack's limits (50 blocks, 3,000 characters per section, 10 fields, 25 buttons per
 * actions block), folding a view that would not fit rather than cutting it.
 */
import { neutralView } from '../views/format.ts';
import { summarize } from '../views/summary.ts';
import { isReadView, readParts } from './read-blocks.ts';
import type { ButtonView, Fact, NoticeView, PagerView, Tone, View } from '../views/types.ts';
import { LIMITS, type Part, type SlackMessage, bold, clip, e, factLine, layout } from './kit.ts';

export { type Block, LIMITS, actionIdOf, escapeMrkdwn, pickOfBlockId, splitText, verbOfActionId } from './kit.ts';

const TONE_ICON: Record<Tone, string> = { good: '✅', attention: '🔴', warning: '⚠️', accent: '🔵', default: 'ℹ️' };
const statusIcon = (status: string) => (status === 'red' ? '🔴' : '🟢');
const lines = (list: readonly string[]) => list.map(e).join('\n');

const noticeParts = (n: NoticeView | null): Part[] => (n ? [{ kind: 'text', text: `${TONE_ICON[n.tone]} *${e(n.text)}*` }] : []);
const buttonParts = (buttons: readonly ButtonView[], subject: string | null = null): Part[] => (buttons.length ? [{ kind: 'buttons', buttons, subject }] : []);
const pagerParts = (p: PagerView | null, what: string): Part[] => {
  if (!p) return [];
  const buttons = [p.previous, p.next].filter((b): b is ButtonView => b !== null);
  return [{ kind: 'context', text: `${p.from}–${p.to} of ${p.total}` }, ...buttonParts(buttons, what)];
};
const factsParts = (facts: readonly Fact[]): Part[] => (facts.length ? [{ kind: 'fields', fields: facts }] : []);
/** A compact grid in Slack: one field per kind, "3 created · 1 modified" in it. */
const counterFields = (rows: ReadonlyArray<{ label: string; values: readonly Fact[] }>): Fact[] => rows.map((r) => ({ label: r.label, value: r.values.map((v) => `${v.value} ${v.label}`).join(' · ') }));
const countersText = (rows: ReadonlyArray<{ label: string; values: readonly Fact[] }>) => rows.map((r) => `*${e(r.label)}:* ${r.values.map((v) => `${e(v.label)} ${e(v.value)}`).join(' · ')}`).join('\n');

/** The parts of a view, in reading order: what a Teams card shows, in Slack's vocabulary. */
function partsOf(view: View): Part[] {
  if (isReadView(view)) return readParts(view);
  switch (view.type) {
    case 'help':
      return [
        { kind: 'header', text: view.title },
        ...noticeParts(view.notice),
        { kind: 'text', text: e(view.intro) },
        { kind: 'text', text: view.commands.map((c) => `*${e(c.usage)}*${c.adminOnly ? ' (admin)' : ''}\n${e(c.summary)}\nExample: \`${e(c.example)}\``).join('\n\n') },
        { kind: 'context', text: 'In Slack: `/groupsync COMMAND`, a message that mentions @groupsync in a channel, or a direct message to groupsync.' },
      ];
    case 'health':
      return [
        { kind: 'header', text: 'Sync health' },
        { kind: 'text', text: `${statusIcon(view.status)} *${view.status}* — ${e(view.summary)}` },
        ...noticeParts(view.notice),
        ...view.connections.flatMap((c): Part[] => [
          { kind: 'divider' },
          { kind: 'text', text: `${statusIcon(c.status)} ${bold(c.name)} (${e(c.kind)}) · ${c.status}${c.reasons.length ? `\n${e(c.reasons.join('; '))}` : ''}` },
          {
            kind: 'fields',
            fields: [
              { label: 'Last sync', value: c.lastSync },
              { label: 'Next run', value: c.nextRun },
              { label: 'SSL status', value: c.ssl },
              { label: 'Linked groups', value: `${c.linkCount} (${c.redLinkCount} red)` },
            ],
          },
          ...buttonParts(c.buttons, c.name),
        ]),
        ...(view.links.length
          ? ([
              { kind: 'divider' },
              {
                kind: 'text',
                text:
                  '*Linked groups* (red first)\n' +
                  view.links.map((l) => `${statusIcon(l.status)} ${bold(l.name)} · ${l.status} — ${e(l.connection)} · ${e(l.kind)} · ${e(l.members)} members · last sync ${e(l.lastSync)}\n      ${e(l.reasons)}`).join('\n'),
              },
            ] as Part[])
          : []),
        ...pagerParts(view.pager, 'linked groups'),
      ];
    case 'status':
      return [
        { kind: 'header', text: `${statusIcon(view.status)} ${view.name}` },
        ...noticeParts(view.notice),
        { kind: 'text', text: `Status: *${view.status}*${view.reasons.length ? ` — ${e(view.reasons.join('; '))}` : ''}` },
        ...(view.runningSince ? [{ kind: 'text', text: `🔄 A sync is running since ${e(view.runningSince)}` } as Part] : []),
        ...factsParts(view.facts),
        { kind: 'text', text: `*Last 10 attempts*\n${view.strip ? e(view.strip) : 'No attempts yet.'}` },
        ...(view.strip ? [{ kind: 'context', text: e(view.legend) } as Part] : []),
        ...(view.lastError ? [{ kind: 'text', text: `🔴 Last error: ${e(view.lastError)}` } as Part] : []),
        ...buttonParts(view.buttons, view.name),
      ];
    case 'run':
      return [
        { kind: 'header', text: view.headline },
        ...noticeParts(view.notice),
        ...factsParts(view.outcome),
        ...(view.countersTitle ? [{ kind: 'text', text: `*${e(view.countersTitle)}*` } as Part, { kind: 'fields', fields: counterFields(view.counters) } as Part] : []),
        ...(view.summary.length ? [{ kind: 'context', text: `*Summary* (impacted, success, unsynced, partial, failed) ${countersText(view.summary)}` } as Part] : []),
        ...(view.changes.length ? [{ kind: 'text', text: `*What would change*\n${lines(view.changes)}` } as Part] : []),
        ...(view.changesNote ? [{ kind: 'context', text: e(view.changesNote) } as Part] : []),
        ...(view.facts.length ? [{ kind: 'context', text: view.facts.map(factLine).join(' · ') } as Part] : []),
        ...(view.skipped.length ? [{ kind: 'text', text: `*Skipped entries*\n${lines(view.skipped)}` } as Part] : []),
        ...pagerParts(view.skippedPager, 'skipped entries'),
        ...(view.audit.length ? [{ kind: 'text', text: `*Audit*\n${lines(view.audit)}` } as Part] : []),
        ...(view.auditNote ? [{ kind: 'context', text: e(view.auditNote) } as Part] : []),
        ...buttonParts(view.buttons, `run #${view.id}`),
      ];
    case 'progress':
      return [
        { kind: 'header', text: `Sync: ${view.connection}` },
        ...noticeParts(view.notice),
        { kind: 'text', text: `⏳ ${e(view.text)}` },
        ...factsParts(view.steps),
      ];
    case 'runs':
      return [
        { kind: 'header', text: `Runs of ${view.connection}` },
        ...noticeParts(view.notice),
        ...(view.runs.length
          ? view.runs.map(
              (r): Part => ({
                kind: 'text',
                text: `*#${r.id}* ${e(r.status)}\n${e(r.trigger)} by ${e(r.actor)} · ${e(r.started)}\n${e(r.changes)}${r.error ? `\n${e(r.error)}` : ''}`,
                accessory: { button: r.button, subject: `run #${r.id}` },
              }),
            )
          : [{ kind: 'text', text: 'No runs yet.' } as Part]),
        ...pagerParts(view.pager, 'runs'),
      ];
    case 'conflicts':
      return [
        { kind: 'header', text: `Users to resolve in ${view.connection}` },
        ...noticeParts(view.notice),
        { kind: 'text', text: view.total > 0 ? view.summary : `✅ ${view.summary}` },
        ...view.items.flatMap((i): Part[] => [
          { kind: 'divider' },
          { kind: 'text', text: `${bold(i.user)} · ${i.status}\n${e(i.detail)}\n${e(i.reason)}${i.candidates.map((c) => `\n• ${bold(c.name)} · ${e(c.detail)}`).join('')}` },
          ...buttonParts(i.buttons, i.user),
          ...(i.pick ? [{ kind: 'pick', pick: i.pick } as Part] : []),
        ]),
        ...pagerParts(view.pager, 'users'),
      ];
    case 'duplicates':
      return [
        { kind: 'header', text: `Duplicate groups in ${view.connection}` },
        ...noticeParts(view.notice),
        {
          kind: 'text',
          text: view.total > 0 ? view.summary : `✅ ${view.summary}`,
        },
        ...view.items.flatMap((i): Part[] => [
          { kind: 'divider' },
          { kind: 'text', text: `${bold(i.name)}\n${e(i.directoryRef)}\n*Existing local group:* ${e(i.localGroup)}\n*Detected:* ${e(i.detected)}` },
          ...buttonParts(i.buttons, i.name),
        ]),
        ...pagerParts(view.pager, 'groups'),
      ];
    case 'approval':
      return [
        { kind: 'header', text: view.title },
        ...noticeParts(view.notice),
        { kind: 'text', text: `${view.state === 'pending' ? '⏸ Held: ' : 'Held: '}${e(view.reason)}` },
        ...(view.decision ? [{ kind: 'text', text: `*${e(view.decision)}*` } as Part] : []),
        ...factsParts(view.facts),
        ...(view.sample.length ? [{ kind: 'text', text: `*What would be removed* (sample)\n${lines(view.sample)}` } as Part] : []),
        ...(view.sampleNote ? [{ kind: 'context', text: e(view.sampleNote) } as Part] : []),
        ...buttonParts(view.buttons, `run #${view.runId}`),
      ];
    case 'alert':
      return [
        { kind: 'header', text: `${view.state === 'resolved' ? '✅' : '⚠️'} ${view.title}` },
        ...noticeParts(view.notice),
        { kind: 'text', text: e(view.text) },
        ...(view.items.length ? [{ kind: 'text', text: lines(view.items) } as Part] : []),
        ...(view.more ? [{ kind: 'context', text: e(view.more) } as Part] : []),
        ...factsParts(view.facts),
        ...buttonParts(view.buttons, view.connection),
      ];
    case 'message':
      return [
        { kind: 'header', text: `${TONE_ICON[view.tone]} ${view.title}` },
        { kind: 'text', text: e(view.text) },
        ...factsParts(view.facts),
        ...buttonParts(view.buttons, null),
      ];
  }
}

/** One line for notifications and clients that cannot show blocks (escaped: Slack reads it as mrkdwn). */
export function fallbackText(view: View): string {
  return e(clip(summarize(neutralView(view)), LIMITS.fallbackText));
}

/** The Block Kit message for a view. */
export function renderBlocks(view: View): SlackMessage {
  return { text: fallbackText(view), blocks: layout(partsOf(neutralView(view))) };
}
