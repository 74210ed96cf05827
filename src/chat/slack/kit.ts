/**
 * Block Kit in Slack's limits: the block shapes, ids of buttons and searches, and the layout of a
 * list of parts (header, text, fields, buttons…) into blocks — in full, folded into fewer blocks,
 * or, only when even that cannot fit, with a closing line saying how much more there is.
 * blocks.ts describes each view as parts; this module lays them out.
 */
import type { ButtonView, Fact, PickView } from '../views/types.ts';

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

export const e = escapeMrkdwn;

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

export type Part =
  | { readonly kind: 'header'; readonly text: string }
  /** mrkdwn, already escaped; an accessory is a button beside the text. */
  | { readonly kind: 'text'; readonly text: string; readonly accessory?: { readonly button: ButtonView; readonly subject: string } }
  | { readonly kind: 'fields'; readonly fields: readonly Fact[] }
  | { readonly kind: 'context'; readonly text: string }
  | { readonly kind: 'divider' }
  /** `subject` names what the buttons act on, for when they are folded away from their item. */
  | { readonly kind: 'buttons'; readonly buttons: readonly ButtonView[]; readonly subject: string | null }
  | { readonly kind: 'pick'; readonly pick: PickView };


export const bold = (text: string) => `*${e(text)}*`;
/** A fact as one mrkdwn line: "*label:* value". */
export const factLine = (f: Fact) => `*${e(f.label)}:* ${e(f.value)}`;

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
export function clip(text: string, max: number): string {
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
export function layout(parts: readonly Part[]): Block[] {
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

