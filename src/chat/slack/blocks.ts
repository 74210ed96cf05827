/**
 * View → Block Kit: a pure function per view type, with fallback text for notifications. Each view
 * is first described as a list of parts (header, text, fields, buttons…), then laid out within
 * Slack's limits (50 blocks, 3,000 characters per section, 10 fields, 25 buttons per actions
 * block). A view that would not fit is folded into fewer blocks (texts merged, buttons gathered
 * with the item they act on in their label) rather than cut; only if even that cannot fit does
 * the message end with a line saying how much more there is.
 */
import { neutralView } from '../views/format.ts';
import { summarize } from '../views/summary.ts';
import { isReadView, readParts } from './read-blocks.ts';
import type { ButtonView, Fact, NoticeView, PagerView, PickView, Tone, View } from '../views/types.ts';

/** Slack's documented limits for a message's blocks. */
export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fieldText: 2000,
  sectionFields: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  blockId: 255,
  placeholder: 150,
  contextElements: 10,
  /** Slack truncates a message's top-level text beyond 40,000 characters; the fallback stays short. */
  fallbackText: 3000,
} as const;

export interface PlainText {
  readonly type: 'plain_text';
  readonly text: string;
  readonly emoji?: boolean;
}
export interface MrkdwnText {
  readonly type: 'mrkdwn';
  readonly text: string;
}
export interface ButtonElement {
  readonly type: 'button';
  readonly action_id: string;
  readonly text: PlainText;
  readonly value: string;
  readonly style?: 'primary' | 'danger';
}
/** A search list whose options the bot answers (bolt's app.options); its choice comes as a block action. */
export interface ExternalSelectElement {
  readonly type: 'external_select';
  readonly action_id: string;
  readonly placeholder: PlainText;
  readonly min_query_length: number;
}
export type Block =
  | { readonly type: 'header'; readonly text: PlainText }
  | { readonly type: 'section'; readonly text?: MrkdwnText; readonly fields?: readonly MrkdwnText[]; readonly accessory?: ButtonElement }
  | { readonly type: 'divider' }
  | { readonly type: 'actions'; readonly elements: readonly ButtonElement[] }
  /** block_id carries the pick (see pickOfBlockId): Slack sends it back with the choice and with each options request. */
  | { readonly type: 'actions'; readonly block_id: string; readonly elements: readonly [ExternalSelectElement] }
  | { readonly type: 'context'; readonly elements: readonly MrkdwnText[] };

export interface SlackMessage {
  /** Fallback text: notifications, screen readers, clients without blocks. */
  readonly text: string;
  readonly blocks: readonly Block[];
}

/** mrkdwn treats &, < and > as control characters: data is escaped before it is shown. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const e = escapeMrkdwn;

/** A button's action_id: the verb, made unique within the message by its index. */
export function actionIdOf(verb: string, index: number | string): string {
  return `${verb}:${index}`;
}

/** What a search list's block_id carries (Layout.pick): the dataset, the data key of the choice, the data. */
export function pickOfBlockId(blockId: string | undefined): { dataset: string; field: string; data: Record<string, unknown> } | null {
  try {
    const v = JSON.parse(blockId ?? '') as { q?: unknown; f?: unknown; d?: unknown };
    return typeof v.q === 'string' && typeof v.f === 'string' && v.d && typeof v.d === 'object' ? { dataset: v.q, field: v.f, data: v.d as Record<string, unknown> } : null;
  } catch {
    return null;
  }
}

/** The verb of an action_id made by actionIdOf. */
export function verbOfActionId(actionId: string): string {
  const at = actionId.lastIndexOf(':');
  return at > 0 ? actionId.slice(0, at) : actionId;
}

type Part =
  | { readonly kind: 'header'; readonly text: string }
  /** mrkdwn, already escaped; an accessory is a button beside the text. */
  | { readonly kind: 'text'; readonly text: string; readonly accessory?: { readonly button: ButtonView; readonly subject: string } }
  | { readonly kind: 'fields'; readonly fields: readonly Fact[] }
  | { readonly kind: 'context'; readonly text: string }
  | { readonly kind: 'divider' }
  /** `subject` names what the buttons act on, for when they are folded away from their item. */
  | { readonly kind: 'buttons'; readonly buttons: readonly ButtonView[]; readonly subject: string | null }
  | { readonly kind: 'pick'; readonly pick: PickView };

const TONE_ICON: Record<Tone, string> = { good: '✅', attention: '🔴', warning: '⚠️', accent: '🔵', default: 'ℹ️' };
const statusIcon = (status: string) => (status === 'red' ? '🔴' : '🟢');
const bold = (text: string) => `*${e(text)}*`;
const lines = (list: readonly string[]) => list.map(e).join('\n');
const factLine = (f: Fact) => `*${e(f.label)}:* ${e(f.value)}`;

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

/** Splits mrkdwn into pieces of at most `max` characters, at line ends where possible, never inside an entity. */
export function splitText(text: string, max: number = LIMITS.sectionText): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) {
      cut = rest.lastIndexOf(' ', max);
      if (cut < max / 2) cut = max;
      // Never split an escaped &amp; / &lt; / &gt;.
      const amp = rest.lastIndexOf('&', cut);
      if (amp >= 0 && cut - amp < 5 && rest.indexOf(';', amp) >= cut) cut = amp;
    }
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (rest.length || !out.length) out.push(rest);
  return out;
}

/** Cuts plain text to `max` characters with an ellipsis (labels and headers only: the full text is shown elsewhere). */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

class Layout {
  readonly blocks: Block[] = [];
  #buttons = 0;
  #picks = 0;

  button(b: ButtonView, label = b.label): ButtonElement | null {
    const value = JSON.stringify(b.data);
    if (value.length > LIMITS.buttonValue) return null;
    return {
      type: 'button',
      action_id: actionIdOf(b.verb, this.#buttons++),
      text: { type: 'plain_text', text: clip(label, LIMITS.buttonText), emoji: true },
      value,
      ...(b.style === 'positive' ? { style: 'primary' as const } : b.style === 'destructive' ? { style: 'danger' as const } : {}),
    };
  }

  header(text: string): void {
    if (text.length <= LIMITS.headerText) this.blocks.push({ type: 'header', text: { type: 'plain_text', text, emoji: true } });
    else this.text(`*${e(text)}*`);
  }

  text(text: string, accessory?: ButtonElement | null): void {
    const pieces = splitText(text);
    pieces.forEach((piece, i) => {
      const last = i === pieces.length - 1;
      this.blocks.push({ type: 'section', text: { type: 'mrkdwn', text: piece }, ...(last && accessory ? { accessory } : {}) });
    });
  }

  fields(facts: readonly Fact[]): void {
    const fitting = facts.filter((f) => factLine(f).length <= LIMITS.fieldText);
    for (let i = 0; i < fitting.length; i += LIMITS.sectionFields) {
      this.blocks.push({ type: 'section', fields: fitting.slice(i, i + LIMITS.sectionFields).map((f) => ({ type: 'mrkdwn', text: `*${e(f.label)}*\n${e(f.value)}` })) });
    }
    // A value too long for a field is shown as text instead.
    const long = facts.filter((f) => factLine(f).length > LIMITS.fieldText);
    if (long.length) this.text(long.map(factLine).join('\n'));
  }

  buttons(list: readonly ButtonView[], label: (b: ButtonView) => string = (b) => b.label): void {
    const elements: ButtonElement[] = [];
    const tooLong: string[] = [];
    for (const b of list) {
      const el = this.button(b, label(b));
      if (el) elements.push(el);
      else tooLong.push(label(b));
    }
    for (let i = 0; i < elements.length; i += LIMITS.actionsElements) this.blocks.push({ type: 'actions', elements: elements.slice(i, i + LIMITS.actionsElements) });
    if (tooLong.length) this.blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${tooLong.map((l) => `“${e(l)}”`).join(', ')}: the data is too long for a Slack button; use the command instead` }] });
  }

  /** An external_select whose block_id says what to search and what its choice does; none when that does not fit a block_id. */
  pick(p: PickView): void {
    const blockId = JSON.stringify({ q: p.dataset, f: p.field, d: p.data });
    if (blockId.length > LIMITS.blockId) {
      this.context(`${e(p.label)}: the data is too long for a Slack search; use the command instead`);
      return;
    }
    this.blocks.push({
      type: 'actions',
      block_id: blockId,
      elements: [{ type: 'external_select', action_id: actionIdOf(p.verb, `pick${this.#picks++}`), placeholder: { type: 'plain_text', text: clip(`${p.label}: ${p.placeholder}`, LIMITS.placeholder) }, min_query_length: 1 }],
    });
  }

  context(text: string): void {
    if (text.length > LIMITS.sectionText) this.text(text);
    else this.blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
  }
}

/** One block per part, as Slack shows it best. */
function layoutFull(parts: readonly Part[]): Block[] {
  const l = new Layout();
  for (const p of parts) {
    if (p.kind === 'header') l.header(p.text);
    else if (p.kind === 'text') l.text(p.text, p.accessory ? l.button(p.accessory.button) : null);
    else if (p.kind === 'fields') l.fields(p.fields);
    else if (p.kind === 'context') l.context(p.text);
    else if (p.kind === 'divider') l.blocks.push({ type: 'divider' });
    else if (p.kind === 'pick') l.pick(p.pick);
    else l.buttons(p.buttons);
  }
  return l.blocks;
}

/**
 * The same content in as few blocks as possible: every text, field and context line merged into
 * as few sections as their length allows, then every button, each labelled with what it acts on.
 */
function layoutFolded(parts: readonly Part[]): Block[] {
  const l = new Layout();
  const texts: string[] = [];
  const buttons: Array<{ button: ButtonView; subject: string | null }> = [];
  const picks: PickView[] = [];
  for (const p of parts) {
    if (p.kind === 'header') l.header(p.text);
    else if (p.kind === 'text') {
      texts.push(p.text);
      if (p.accessory) buttons.push(p.accessory);
    } else if (p.kind === 'fields') texts.push(p.fields.map(factLine).join('\n'));
    else if (p.kind === 'context') texts.push(`_${p.text}_`);
    else if (p.kind === 'buttons') buttons.push(...p.buttons.map((button) => ({ button, subject: p.subject })));
    else if (p.kind === 'pick') picks.push(p.pick);
  }
  l.text(texts.join('\n'));
  const labels = new Map(buttons.map(({ button, subject }) => [button, subject ? `${button.label} · ${subject}` : button.label]));
  l.buttons(
    buttons.map((b) => b.button),
    (b) => labels.get(b) ?? b.label,
  );
  for (const p of picks) l.pick(p);
  return l.blocks;
}

/** Lays a view's parts out within Slack's limits. */
function layout(parts: readonly Part[]): Block[] {
  const full = layoutFull(parts);
  if (full.length <= LIMITS.blocks) return full;
  const withoutDividers = full.filter((b) => b.type !== 'divider');
  if (withoutDividers.length <= LIMITS.blocks) return withoutDividers;
  const folded = layoutFolded(parts);
  if (folded.length <= LIMITS.blocks) return folded;
  // Not even folded: say what is left out, and where to find it, rather than cut silently.
  const kept = folded.slice(0, LIMITS.blocks - 1);
  const rest = folded.slice(LIMITS.blocks - 1);
  const hiddenButtons = rest.reduce((n, b) => n + (b.type === 'actions' ? b.elements.length : 0), 0);
  const hiddenSections = rest.filter((b) => b.type === 'section').length;
  kept.push({
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: `⚠️ ${hiddenSections} more sections and ${hiddenButtons} more buttons do not fit in one Slack message — use the Next page button, or the CLI (\`groupsync\`), to see them.`,
    },
  });
  return kept;
}

/** One line for notifications and clients that cannot show blocks (escaped: Slack reads it as mrkdwn). */
export function fallbackText(view: View): string {
  return e(clip(summarize(neutralView(view)), LIMITS.fallbackText));
}

/** The Block Kit message for a view. */
export function renderBlocks(view: View): SlackMessage {
  return { text: fallbackText(view), blocks: layout(partsOf(neutralView(view))) };
}
