/** Shared by the view builders: times, plurals, page sizes, pagers and notices. */
import { formatTime, plural, relativeTime } from '../../format.ts';
import type { NoticeView, PagerView, Tone } from './types.ts';

export { formatTime, plural, relativeTime };

export const PAGE_SIZES = { health: 20, conflicts: 10, duplicates: 10, runs: 10, skipped: 15, audit: 15 } as const;

/** The offset to show: `offset` itself, or the start of the last page when it is past the end (a button may send any number). */
export function clampOffset(offset: number, total: number, size: number): number {
  return offset < total ? offset : Math.max(0, Math.floor((total - 1) / size) * size);
}

export function pager(view: string, params: Record<string, string | number>, offset: number, shown: number, total: number, size: number): PagerView | null {
  if (total <= size && offset === 0) return null;
  const prev = offset > 0 ? Math.max(0, offset - size) : null;
  const next = offset + shown < total ? offset + shown : null;
  return {
    from: shown ? offset + 1 : 0,
    to: offset + shown,
    total,
    previous: prev === null ? null : { label: '◀ Previous', verb: 'page', data: { view, ...params, offset: prev } },
    next: next === null ? null : { label: 'Next ▶', verb: 'page', data: { view, ...params, offset: next } },
  };
}

export function notice(tone: Tone, text: string): NoticeView {
  return { tone, text };
}

/**
 * Characters that change how text around them is read without being seen: C0 and C1 controls
 * (an escape sequence repaints a terminal), DEL, and the bidi controls (U+202E turns
 * "invoice" + U+202E + "fdp.exe" into what reads "invoiceexe.pdf"). Line breaks and tabs are layout and stay.
 */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text from the directory as it may be shown: each hidden character as a visible `[U+202E]`. */
export function displayText(text: string): string {
  return text.replace(HIDDEN, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * A view with every text made safe to show (displayText); what a button sends back (`verb`,
 * `data`) stays exact. Both renderers (Teams, Slack) and their fallback texts start here: the
 * store keeps the directory's values as they are, only what is shown is neutralised.
 */
export function neutralView<T>(value: T, key = ''): T {
  if (typeof value === 'string') return (key === 'verb' ? value : displayText(value)) as T;
  if (Array.isArray(value)) return value.map((v) => neutralView(v, key)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'data' ? v : neutralView(v, k)])) as T;
  }
  return value;
}

/**
 * An actor as people read it: "teams:Alex Wilber (00000000-…)" → "Alex Wilber". The surface and
 * the id stay in the audit log and the CLI's JSON; a card shows the name when the actor has one.
 */
export function displayActor(actor: string | null | undefined): string {
  if (!actor) return '—';
  const m = /^(?:teams|slack):(.+?) \(([^()]*)\)$/.exec(actor);
  return m && m[1]!.trim() ? m[1]!.trim() : actor;
}
